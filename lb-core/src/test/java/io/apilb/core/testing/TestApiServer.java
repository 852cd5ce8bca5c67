package io.apilb.core.testing;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.DefaultHttpContent;
import io.netty.handler.codec.http.DefaultHttpResponse;
import io.netty.handler.codec.http.LastHttpContent;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpChunkedInput;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.ClientAuth;
import io.netty.handler.ssl.SniHandler;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.stream.ChunkedInput;
import io.netty.handler.stream.ChunkedWriteHandler;
import io.netty.pkitesting.X509Bundle;
import io.netty.util.AsyncMapping;
import io.netty.util.concurrent.GlobalEventExecutor;
import io.netty.util.concurrent.Promise;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.cert.CertificateEncodingException;
import java.security.cert.X509Certificate;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import javax.net.ssl.SSLPeerUnverifiedException;

/**
 * A stand-in for kube-apiserver in tests: TLS on 127.0.0.1, HTTP/1.1 with keep-alive, answering
 * with its own name so a test can see which master served it.
 *
 * <ul>
 *   <li>{@code /readyz}: {@link #readyStatus(int)} (default 200), after {@link #readyDelay(Duration)},
 *       with {@link #readyBody(String)} when not 200</li>
 *   <li>{@code /healthz}: 200</li>
 *   <li>{@code /version}, {@code /whoami}: {@code {"server":NAME,"sni":...,"clientSubject":...}}</li>
 *   <li>{@code /stream?bytes=N}: N bytes, chunked, written as fast as the peer reads; with
 *       {@code &pauseMs=P}, in 8 KiB chunks P ms apart (a response the server is still producing)</li>
 *   <li>{@code /watch?everyMs=N}: a chunked response that never ends, one line
 *       {@code event <n> <server>} every N ms (default 250), like a busy watch; requests to
 *       {@code /keepalive} on the same connection are read and left unanswered</li>
 *   <li>{@code /slow?ms=N}: answers after N ms</li>
 * </ul>
 * {@link #freeze()} makes it stop answering without closing anything (a hung or partitioned
 * master); {@link #stop()} closes the port (a dead process); {@link #start()} brings it back on the
 * same port.
 */
public final class TestApiServer implements AutoCloseable {
    private final String name;
    private final SslContext sslContext;
    private final EventLoopGroup group;
    private final ChannelGroup children = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private final List<String> sniSeen = new CopyOnWriteArrayList<>();
    private final AtomicInteger readyStatus = new AtomicInteger(200);
    private final AtomicLong readyDelayMillis = new AtomicLong();
    private volatile String unreadyBody = "[-]shutdown failed: reason withheld\nreadyz check failed";
    private final AtomicInteger requests = new AtomicInteger();
    private final AtomicInteger readyzRequests = new AtomicInteger();
    private final AtomicInteger accepted = new AtomicInteger();
    private final AtomicInteger keepalives = new AtomicInteger();
    private volatile boolean frozen;
    private volatile Channel serverChannel;
    private int port;

    private TestApiServer(String name, SslContext sslContext, int port) {
        this.name = name;
        this.sslContext = sslContext;
        this.port = port;
        this.group = new MultiThreadIoEventLoopGroup(1, NioIoHandler.newFactory());
    }

    /** A started server with a certificate from {@link TestPki#server(String)}, JDK TLS, no client auth. */
    public static TestApiServer start(String name) {
        return builder(name).start();
    }

    public static Builder builder(String name) {
        return new Builder(name);
    }

    /** Options for a test server. */
    public static final class Builder {
        private final String name;
        private X509Bundle certificate;
        private boolean requireClientCert;
        private SslProvider provider = SslProvider.JDK;
        private int port;

        private Builder(String name) {
            this.name = name;
        }

        public Builder certificate(X509Bundle certificate) {
            this.certificate = certificate;
            return this;
        }

        /** Require a client certificate signed by {@link TestPki#ca()}. */
        public Builder requireClientCert() {
            this.requireClientCert = true;
            return this;
        }

        public Builder provider(SslProvider provider) {
            this.provider = provider;
            return this;
        }

        public Builder port(int port) {
            this.port = port;
            return this;
        }

        public TestApiServer start() {
            try {
                X509Bundle cert = certificate != null ? certificate : TestPki.server(name);
                SslContextBuilder b = SslContextBuilder.forServer(cert.toKeyManagerFactory()).sslProvider(provider);
                if (requireClientCert) {
                    b.clientAuth(ClientAuth.REQUIRE).trustManager(TestPki.ca().toTrustManagerFactory());
                }
                TestApiServer s = new TestApiServer(name, b.build(), port);
                s.start();
                return s;
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        }
    }

    public String name() {
        return name;
    }

    public int port() {
        return port;
    }

    public InetSocketAddress address() {
        return new InetSocketAddress("127.0.0.1", port);
    }

    /** {@code 127.0.0.1:port}, as a config file would name it. */
    public String hostPort() {
        return "127.0.0.1:" + port;
    }

    /** Status that {@code /readyz} answers from now on. */
    public void readyStatus(int status) {
        readyStatus.set(status);
    }

    /** Body that {@code /readyz} answers with a status other than 200, from now on. */
    public void readyBody(String body) {
        unreadyBody = body;
    }

    /** Delay before {@code /readyz} answers. */
    public void readyDelay(Duration delay) {
        readyDelayMillis.set(delay.toMillis());
    }

    /** Server names requested by TLS clients, in order. */
    public List<String> sniSeen() {
        return sniSeen;
    }

    /** HTTP requests served, all paths. */
    public int requests() {
        return requests.get();
    }

    public int readyzRequests() {
        return readyzRequests.get();
    }

    /** Requests to {@code /keepalive} received. */
    public int keepalives() {
        return keepalives.get();
    }

    /** TCP connections accepted since creation. */
    public int accepted() {
        return accepted.get();
    }

    /** Open connections now. */
    public int openConnections() {
        return children.size();
    }

    /**
     * Stops reading and accepting without closing any socket: the kernel still completes TCP
     * handshakes into the backlog, but no byte is ever answered.
     */
    public void freeze() {
        frozen = true;
        Channel sc = serverChannel;
        if (sc != null) {
            sc.config().setAutoRead(false);
        }
        for (Channel c : children) {
            c.config().setAutoRead(false);
        }
    }

    /** Undoes {@link #freeze()}. */
    public void unfreeze() {
        frozen = false;
        Channel sc = serverChannel;
        if (sc != null) {
            sc.config().setAutoRead(true);
        }
        for (Channel c : children) {
            c.config().setAutoRead(true);
            c.read();
        }
    }

    /** Binds (again) on the same port. */
    public synchronized void start() {
        if (serverChannel != null && serverChannel.isOpen()) {
            return;
        }
        frozen = false;
        ServerBootstrap b = new ServerBootstrap()
                .group(group)
                .channel(NioServerSocketChannel.class)
                .option(ChannelOption.SO_REUSEADDR, true)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        accepted.incrementAndGet();
                        children.add(ch);
                        if (frozen) {
                            ch.config().setAutoRead(false);
                        }
                        ch.pipeline().addLast(new SniHandler(new RecordingMapping()));
                        ch.pipeline().addLast(new HttpServerCodec());
                        ch.pipeline().addLast(new HttpObjectAggregator(64 * 1024));
                        ch.pipeline().addLast(new ChunkedWriteHandler());
                        ch.pipeline().addLast(new RequestHandler());
                    }
                });
        serverChannel = b.bind("127.0.0.1", port).syncUninterruptibly().channel();
        port = ((InetSocketAddress) serverChannel.localAddress()).getPort();
    }

    /** Closes the listening port and every connection, with a FIN (a process that exits). */
    public synchronized void stop() {
        Channel sc = serverChannel;
        if (sc != null) {
            sc.close().syncUninterruptibly();
        }
        children.close().awaitUninterruptibly(5, TimeUnit.SECONDS);
    }

    /**
     * Behaves like kube-apiserver after SIGTERM: {@code /readyz} answers 500 at once, everything
     * else is still served for {@code delay}, then the port and all connections close.
     */
    public void beginGracefulShutdown(Duration delay) {
        readyStatus(500);
        group.schedule(this::stop, delay.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public void close() {
        stop();
        group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
    }

    private final class RecordingMapping implements AsyncMapping<String, SslContext> {
        @Override
        public io.netty.util.concurrent.Future<SslContext> map(String hostname, Promise<SslContext> promise) {
            if (hostname != null) {
                sniSeen.add(hostname);
            }
            return promise.setSuccess(sslContext);
        }
    }

    private final class RequestHandler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            if (frozen) {
                return;
            }
            requests.incrementAndGet();
            QueryStringDecoder uri = new QueryStringDecoder(req.uri());
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            switch (uri.path()) {
                case "/readyz" -> {
                    readyzRequests.incrementAndGet();
                    int status = readyStatus.get();
                    long delay = readyDelayMillis.get();
                    String body = status == 200 ? "ok" : unreadyBody;
                    if (delay > 0) {
                        ctx.executor().schedule(() -> respond(ctx, status, "text/plain", body, keepAlive),
                                delay, TimeUnit.MILLISECONDS);
                    } else {
                        respond(ctx, status, "text/plain", body, keepAlive);
                    }
                }
                case "/healthz", "/livez" -> respond(ctx, 200, "text/plain", "ok", keepAlive);
                case "/version", "/whoami" -> respond(ctx, 200, "application/json", identity(ctx), keepAlive);
                case "/slow" -> {
                    long ms = Long.parseLong(param(uri, "ms", "1000"));
                    String body = identity(ctx);
                    ctx.executor().schedule(() -> respond(ctx, 200, "application/json", body, keepAlive),
                            ms, TimeUnit.MILLISECONDS);
                }
                case "/stream" -> {
                    long bytes = Long.parseLong(param(uri, "bytes", "1048576"));
                    long pause = Long.parseLong(param(uri, "pauseMs", "0"));
                    if (pause > 0) {
                        pacedStream(ctx, bytes, pause);
                    } else {
                        stream(ctx, bytes);
                    }
                }
                case "/watch" -> watch(ctx, Long.parseLong(param(uri, "everyMs", "250")));
                case "/keepalive" -> keepalives.incrementAndGet();
                default -> respond(ctx, 404, "text/plain", "not found", keepAlive);
            }
        }

        private String identity(ChannelHandlerContext ctx) {
            SslHandler ssl = ctx.pipeline().get(SslHandler.class);
            String subject = null;
            String fingerprint = null;
            try {
                X509Certificate peer = (X509Certificate) ssl.engine().getSession().getPeerCertificates()[0];
                subject = peer.getSubjectX500Principal().getName();
                fingerprint = sha256(peer.getEncoded());
            } catch (SSLPeerUnverifiedException | CertificateEncodingException e) {
                // No client certificate: anonymous.
            }
            String sni = sniSeen.isEmpty() ? null : sniSeen.get(sniSeen.size() - 1);
            return "{\"server\":\"" + name + "\",\"sni\":" + quote(sni) + ",\"clientSubject\":" + quote(subject)
                    + ",\"clientCertSha256\":" + quote(fingerprint) + "}";
        }

        private void stream(ChannelHandlerContext ctx, long bytes) {
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
            HttpUtil.setTransferEncodingChunked(head, true);
            ctx.write(head);
            ctx.writeAndFlush(new HttpChunkedInput(new FillerInput(bytes)));
        }

        private void pacedStream(ChannelHandlerContext ctx, long bytes, long pauseMs) {
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, HttpHeaderValues.APPLICATION_OCTET_STREAM);
            HttpUtil.setTransferEncodingChunked(head, true);
            ctx.writeAndFlush(head);
            writePaced(ctx, bytes, pauseMs);
        }

        private void writePaced(ChannelHandlerContext ctx, long left, long pauseMs) {
            if (!ctx.channel().isActive()) {
                return;
            }
            if (left == 0) {
                ctx.writeAndFlush(LastHttpContent.EMPTY_LAST_CONTENT);
                return;
            }
            int n = (int) Math.min(8 * 1024, left);
            ctx.writeAndFlush(new DefaultHttpContent(ctx.alloc().buffer(n).writeZero(n)));
            ctx.executor().schedule(() -> writePaced(ctx, left - n, pauseMs), pauseMs, TimeUnit.MILLISECONDS);
        }

        private void watch(ChannelHandlerContext ctx, long everyMs) {
            HttpResponse head = new DefaultHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.OK);
            head.headers().set(HttpHeaderNames.CONTENT_TYPE, "text/plain");
            HttpUtil.setTransferEncodingChunked(head, true);
            ctx.writeAndFlush(head);
            AtomicLong seq = new AtomicLong();
            ctx.executor().scheduleAtFixedRate(new Runnable() {
                @Override
                public void run() {
                    if (!ctx.channel().isActive()) {
                        throw new IllegalStateException("watch ended");
                    }
                    String line = "event " + seq.incrementAndGet() + " " + name + "\n";
                    ctx.writeAndFlush(new DefaultHttpContent(Unpooled.copiedBuffer(line, StandardCharsets.UTF_8)));
                }
            }, everyMs, everyMs, TimeUnit.MILLISECONDS);
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }

    /** Hex SHA-256 of DER bytes, as the backend reports a client certificate's fingerprint. */
    public static String sha256(byte[] der) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(der));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String param(QueryStringDecoder uri, String key, String dflt) {
        List<String> v = uri.parameters().get(key);
        return v == null || v.isEmpty() ? dflt : v.get(0);
    }

    private static String quote(String s) {
        return s == null ? "null" : '"' + s.replace("\\", "\\\\").replace("\"", "\\\"") + '"';
    }

    private static void respond(ChannelHandlerContext ctx, int status, String type, String body, boolean keepAlive) {
        if (!ctx.channel().isActive()) {
            return;
        }
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
        HttpUtil.setContentLength(res, res.content().readableBytes());
        HttpUtil.setKeepAlive(res, keepAlive);
        if (keepAlive) {
            ctx.writeAndFlush(res);
        } else {
            ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
        }
    }

    /** Endless-looking body of a fixed length, produced on demand so the server never buffers it all. */
    private static final class FillerInput implements ChunkedInput<ByteBuf> {
        private static final int CHUNK = 64 * 1024;
        private final long length;
        private long produced;

        FillerInput(long length) {
            this.length = length;
        }

        @Override
        public boolean isEndOfInput() {
            return produced >= length;
        }

        @Override
        public void close() {
        }

        @Override
        @Deprecated
        public ByteBuf readChunk(ChannelHandlerContext ctx) {
            return readChunk(ctx.alloc());
        }

        @Override
        public ByteBuf readChunk(ByteBufAllocator allocator) {
            if (isEndOfInput()) {
                return null;
            }
            int n = (int) Math.min(CHUNK, length - produced);
            ByteBuf buf = allocator.buffer(n);
            buf.writeZero(n);
            produced += n;
            return buf;
        }

        @Override
        public long length() {
            return length;
        }

        @Override
        public long progress() {
            return produced;
        }
    }
}
