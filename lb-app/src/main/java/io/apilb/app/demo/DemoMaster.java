package io.apilb.app.demo;

import io.netty.bootstrap.ServerBootstrap;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.channel.group.ChannelGroup;
import io.netty.channel.group.DefaultChannelGroup;
import io.netty.channel.socket.SocketChannel;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpObjectAggregator;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpServerCodec;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.codec.http.QueryStringDecoder;
import io.netty.handler.ssl.SslContext;
import io.netty.util.concurrent.GlobalEventExecutor;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;

/**
 * One pretend kube-apiserver of the demo: TLS on 127.0.0.1, answering {@code /readyz},
 * {@code /healthz}, {@code /livez} and {@code /version} (which names the master that served it).
 * It can be stopped (port closed), started again on the same port, or made unready.
 */
final class DemoMaster {
    private final String name;
    private final SslContext ssl;
    private final EventLoopGroup group;
    private final Class<? extends io.netty.channel.ServerChannel> channelClass;
    private final ChannelGroup connections = new DefaultChannelGroup(GlobalEventExecutor.INSTANCE);
    private volatile boolean ready = true;
    private volatile Channel server;
    private int port;

    DemoMaster(String name, SslContext ssl, EventLoopGroup group,
               Class<? extends io.netty.channel.ServerChannel> channelClass) {
        this.name = name;
        this.ssl = ssl;
        this.group = group;
        this.channelClass = channelClass;
    }

    String name() {
        return name;
    }

    int port() {
        return port;
    }

    boolean running() {
        Channel s = server;
        return s != null && s.isActive();
    }

    boolean ready() {
        return ready;
    }

    void ready(boolean ready) {
        this.ready = ready;
    }

    synchronized void start() {
        if (running()) {
            return;
        }
        server = new ServerBootstrap()
                .group(group)
                .channel(channelClass)
                .childHandler(new ChannelInitializer<SocketChannel>() {
                    @Override
                    protected void initChannel(SocketChannel ch) {
                        connections.add(ch);
                        ch.pipeline().addLast(ssl.newHandler(ch.alloc()), new HttpServerCodec(),
                                new HttpObjectAggregator(16 * 1024), new Handler());
                    }
                })
                .bind("127.0.0.1", port).syncUninterruptibly().channel();
        port = ((InetSocketAddress) server.localAddress()).getPort();
    }

    /** Like a crashed master: the port closes and so do its connections. */
    synchronized void stop() {
        Channel s = server;
        if (s != null) {
            s.close().syncUninterruptibly();
        }
        connections.close().awaitUninterruptibly();
    }

    private final class Handler extends SimpleChannelInboundHandler<FullHttpRequest> {
        @Override
        protected void channelRead0(ChannelHandlerContext ctx, FullHttpRequest req) {
            String path = new QueryStringDecoder(req.uri()).path();
            int status;
            String type = "text/plain; charset=utf-8";
            String body;
            switch (path) {
                case "/readyz" -> {
                    status = ready ? 200 : 500;
                    body = ready ? "ok" : "[-]shutdown failed: reason withheld\nreadyz check failed";
                }
                case "/healthz", "/livez" -> {
                    status = 200;
                    body = "ok";
                }
                case "/version" -> {
                    status = 200;
                    type = "application/json";
                    body = "{\n  \"major\": \"1\",\n  \"minor\": \"31\",\n  \"gitVersion\": \"v1.31.0-apilb-demo\",\n"
                            + "  \"platform\": \"linux/amd64\",\n  \"servedBy\": \"" + name + "\"\n}\n";
                }
                default -> {
                    status = 404;
                    body = "404 page not found";
                }
            }
            FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, HttpResponseStatus.valueOf(status),
                    Unpooled.copiedBuffer(body, StandardCharsets.UTF_8));
            res.headers().set(HttpHeaderNames.CONTENT_TYPE, type);
            res.headers().set("X-Served-By", name);
            HttpUtil.setContentLength(res, res.content().readableBytes());
            boolean keepAlive = HttpUtil.isKeepAlive(req);
            HttpUtil.setKeepAlive(res, keepAlive);
            if (keepAlive) {
                ctx.writeAndFlush(res);
            } else {
                ctx.writeAndFlush(res).addListener(ChannelFutureListener.CLOSE);
            }
        }

        @Override
        public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
            ctx.close();
        }
    }
}
