package io.apilb.core.proxy;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.ProxiedConnection;
import io.apilb.core.backend.Termination;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.socket.ChannelInputShutdownEvent;
import io.netty.channel.socket.DuplexChannel;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Ticker;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * One proxied connection, from accept to access-log line: picks a backend, dials it (retrying the
 * next one on refusal or timeout), then relays bytes both ways untouched.
 *
 * <p>Flow control: both channels start with AUTO_READ off, so nothing is read before the backend
 * is connected. Then both read on their own, and a side stops reading exactly while the other side
 * is not writable; writes are flushed once per read burst. A client that stops reading therefore
 * stops the backend being read, and the kernel's windows push back to the server, so memory stays
 * bounded. (Switching auto-read only on writability changes, rather than requesting each read,
 * spares the epoll transport two epoll_ctl calls per read burst.)
 *
 * <p>All methods run on the client channel's event loop (the backend channel shares it), except
 * {@link #close(Termination)}, which hops onto it.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter implements ProxiedConnection {
    private static final Logger log = LoggerFactory.getLogger(FrontendHandler.class);
    /** Most a client may send before its backend is connected; a TLS ClientHello is far smaller. */
    static final int MAX_EARLY_BYTES = 64 * 1024;

    private final ProxyContext ctx;
    private final String listener;
    private final long id;
    private Channel client;
    private Channel backendChannel;
    private Backend backend;
    private Set<Backend> tried;
    private ArrayDeque<ByteBuf> early;
    private int earlyBytes;
    private int attempts;
    private long acceptedAt;
    private long connectMillis = -1;
    private long bytesIn;
    private long bytesOut;
    private Termination termination;
    private boolean clientInputShut;
    private boolean backendInputShut;
    private boolean finished;
    private Ticker ticker;
    private long lastActivity;
    private ScheduledFuture<?> idleTimer;

    FrontendHandler(ProxyContext ctx, String listener) {
        this.ctx = ctx;
        this.listener = listener;
        this.id = ctx.nextId();
    }

    @Override
    public void channelActive(ChannelHandlerContext c) {
        client = c.channel();
        acceptedAt = System.nanoTime();
        // The loop's clock, not System.nanoTime(), so tests can drive idle timeouts in virtual time.
        ticker = client.eventLoop().ticker();
        lastActivity = ticker.nanoTime();
        if (ctx.stats.opened() > ctx.maxConnections) {
            ctx.stats.rejectedByLimit();
            terminate(Termination.LIMIT);
            client.close();
            return;
        }
        ctx.connections.add(this);
        dial();
    }

    private void dial() {
        List<Backend> candidates = ctx.candidates();
        Backend next = ctx.selector.select(candidates, tried == null ? Set.of() : tried);
        if (next == null) {
            ctx.stats.noBackendFound();
            log.debug("conn={} client={} no backend to dial after {} attempts", id, client.remoteAddress(), attempts);
            terminate(Termination.NO_BACKEND);
            client.close();
            return;
        }
        attempts++;
        // Counted from now, so leastconn sees dials in flight and a burst does not pile on one backend.
        next.stats().connectionOpened();
        Future<Channel> f = ctx.connector.connect(next, client, new BackendHandler(this));
        f.addListener(done -> connected(next, done));
    }

    private void connected(Backend target, Future<?> done) {
        if (done.isSuccess()) {
            Channel ch = (Channel) done.getNow();
            if (finished || !client.isActive()) {
                // The client left while we dialled.
                ch.close();
                target.stats().connectionClosed();
                return;
            }
            backendChannel = ch;
            backend = target;
            connectMillis = (System.nanoTime() - acceptedAt) / 1_000_000;
            target.stats().connectionEstablished();
            ctx.pool.connectSucceeded(target);
            target.register(this);
            log.debug("conn={} client={} backend={} connected in {} ms", id, client.remoteAddress(), target.name(),
                    connectMillis);
            replayEarlyBytes();
            armIdleTimer(ctx.idleMillis);
            if (clientInputShut) {
                shutdownOutputAfterFlush(backendChannel);
            } else {
                client.config().setAutoRead(backendChannel.isWritable());
            }
            backendChannel.config().setAutoRead(client.isWritable());
            return;
        }
        target.stats().connectionClosed();
        Throwable cause = done.cause();
        ConnectFailure reason = ConnectFailure.of(cause);
        ctx.pool.connectFailed(target, reason, cause);
        log.debug("conn={} client={} backend={} connect failed ({}): {}", id, client.remoteAddress(), target.name(),
                reason.tag(), cause.toString());
        if (finished || !client.isActive()) {
            return;
        }
        if (tried == null) {
            tried = new HashSet<>(4);
        }
        tried.add(target);
        if (attempts <= ctx.retries) {
            dial();
        } else {
            ctx.stats.noBackendFound();
            terminate(Termination.NO_BACKEND);
            client.close();
        }
    }

    // Client -> backend.

    @Override
    public void channelRead(ChannelHandlerContext c, Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        if (backendChannel == null && !finished) {
            holdEarly(buf);
            return;
        }
        if (backendChannel == null || !backendChannel.isActive()) {
            buf.release();
            return;
        }
        int n = buf.readableBytes();
        bytesIn += n;
        backend.stats().addBytesIn(n);
        lastActivity = ticker.nanoTime();
        backendChannel.write(buf, backendChannel.voidPromise());
    }

    @Override
    public void channelReadComplete(ChannelHandlerContext c) {
        if (backendChannel != null) {
            backendChannel.flush();
        }
    }

    @Override
    public void channelWritabilityChanged(ChannelHandlerContext c) {
        if (backendChannel != null && !backendInputShut) {
            setAutoRead(backendChannel, client.isWritable());
        }
        c.fireChannelWritabilityChanged();
    }

    /**
     * Closing a channel fails its pending writes, which flips writability: the other leg may be
     * closed already, and changing its interest set then only makes the kernel refuse (ENOENT).
     */
    private static void setAutoRead(Channel ch, boolean on) {
        if (ch.isActive()) {
            ch.config().setAutoRead(on);
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext c, Object evt) {
        if (evt == ChannelInputShutdownEvent.INSTANCE) {
            clientInputShut = true;
            if (backendChannel == null && !finished) {
                // Still dialling: the FIN is passed on once the backend is connected.
                log.debug("conn={} client={} half-closed before its backend was connected", id, client.remoteAddress());
            } else if (backendChannel == null || backendInputShut) {
                terminate(Termination.CLIENT_CLOSE);
                client.close();
            } else {
                shutdownOutputAfterFlush(backendChannel);
            }
        }
        c.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext c) {
        terminate(Termination.CLIENT_CLOSE);
        if (backendChannel != null) {
            closeAfterFlush(backendChannel);
        }
        finish();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
        log.debug("conn={} client={} client error: {}", id, client == null ? null : client.remoteAddress(), cause.toString());
        terminate(cause instanceof IOException ? Termination.CLIENT_CLOSE : Termination.ERROR);
        closeBoth();
    }

    /**
     * Idle timeout over both directions: every byte relayed is read on one leg, so reads stamp
     * {@link #lastActivity} and one timer per connection checks the stamp and re-arms for the rest.
     * Cheaper than an idle handler in the pipeline, which also hooks every write.
     */
    private void armIdleTimer(long idleMillis) {
        if (idleMillis <= 0) {
            return;
        }
        long idleNanos = TimeUnit.MILLISECONDS.toNanos(idleMillis);
        long left = idleNanos - (ticker.nanoTime() - lastActivity);
        idleTimer = client.eventLoop().schedule(() -> {
            if (finished) {
                return;
            }
            if (ticker.nanoTime() - lastActivity >= idleNanos) {
                log.debug("conn={} client={} idle timeout", id, client.remoteAddress());
                terminate(Termination.IDLE_TIMEOUT);
                closeBoth();
            } else {
                armIdleTimer(idleMillis);
            }
        }, Math.max(left, 1), TimeUnit.NANOSECONDS);
    }

    /**
     * Epoll reads a peer's last bytes and FIN as soon as the FIN arrives, even with AUTO_READ off, so
     * bytes can come before the backend is connected. They are kept, within a bound, and replayed.
     */
    private void holdEarly(ByteBuf buf) {
        int n = buf.readableBytes();
        if (earlyBytes + n > MAX_EARLY_BYTES) {
            buf.release();
            log.debug("conn={} client={} sent over {} bytes before its backend was connected", id,
                    client.remoteAddress(), MAX_EARLY_BYTES);
            terminate(Termination.ERROR);
            client.close();
            return;
        }
        if (early == null) {
            early = new ArrayDeque<>(2);
        }
        early.add(buf);
        earlyBytes += n;
    }

    private void replayEarlyBytes() {
        if (early == null) {
            return;
        }
        for (ByteBuf buf = early.poll(); buf != null; buf = early.poll()) {
            int n = buf.readableBytes();
            bytesIn += n;
            backend.stats().addBytesIn(n);
            backendChannel.write(buf, backendChannel.voidPromise());
        }
        backendChannel.flush();
        early = null;
        earlyBytes = 0;
    }

    private void releaseEarlyBytes() {
        if (early != null) {
            for (ByteBuf buf = early.poll(); buf != null; buf = early.poll()) {
                buf.release();
            }
            early = null;
        }
    }

    // Backend -> client, called by BackendHandler.

    void fromBackend(ByteBuf buf) {
        if (!client.isActive()) {
            buf.release();
            return;
        }
        int n = buf.readableBytes();
        bytesOut += n;
        backend.stats().addBytesOut(n);
        lastActivity = ticker.nanoTime();
        client.write(buf, client.voidPromise());
    }

    void backendReadComplete() {
        client.flush();
    }

    void backendWritabilityChanged(boolean writable) {
        if (!clientInputShut) {
            setAutoRead(client, writable);
        }
    }

    void backendInputShutdown() {
        backendInputShut = true;
        if (clientInputShut) {
            terminate(Termination.BACKEND_CLOSE);
            closeBoth();
        } else {
            shutdownOutputAfterFlush(client);
        }
    }

    void backendInactive() {
        terminate(Termination.BACKEND_CLOSE);
        closeAfterFlush(client);
    }

    void backendError(Throwable cause) {
        log.debug("conn={} backend={} backend error: {}", id, backend == null ? null : backend.name(), cause.toString());
        terminate(cause instanceof IOException ? Termination.BACKEND_CLOSE : Termination.ERROR);
        closeBoth();
    }

    // Closing.

    @Override
    public void close(Termination why) {
        Channel ch = client;
        if (ch == null) {
            return;
        }
        if (ch.eventLoop().inEventLoop()) {
            terminate(why);
            closeBoth();
        } else {
            ch.eventLoop().execute(() -> close(why));
        }
    }

    /** Records the first reason only: later ones are consequences of it. */
    private void terminate(Termination why) {
        if (termination == null) {
            termination = why;
        }
    }

    private void closeBoth() {
        if (backendChannel != null && backendChannel.isOpen()) {
            backendChannel.close();
        }
        if (client.isOpen()) {
            client.close();
        }
    }

    private static void closeAfterFlush(Channel ch) {
        if (ch.isActive()) {
            ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(ChannelFutureListener.CLOSE);
        } else {
            ch.close();
        }
    }

    private static void shutdownOutputAfterFlush(Channel ch) {
        if (!ch.isActive()) {
            ch.close();
            return;
        }
        ch.writeAndFlush(Unpooled.EMPTY_BUFFER).addListener(f -> {
            if (ch instanceof DuplexChannel duplex) {
                duplex.shutdownOutput();
            } else {
                ch.close();
            }
        });
    }

    private void finish() {
        if (finished) {
            return;
        }
        finished = true;
        if (idleTimer != null) {
            idleTimer.cancel(false);
        }
        releaseEarlyBytes();
        if (backend != null) {
            backend.unregister(this);
            backend.stats().connectionClosed();
        }
        // Every accepted connection was counted in channelActive, even one rejected by the limit.
        ctx.stats.closed();
        ctx.connections.remove(this);
        if (AccessLog.enabled()) {
            long duration = (System.nanoTime() - acceptedAt) / 1_000_000;
            AccessLog.write(id, AccessLog.format(client.remoteAddress()), listener, backend == null ? null : backend.name(),
                    connectMillis, duration, bytesIn, bytesOut, attempts, termination);
        }
    }

    /** For tests: why it ended, or null while it lives. */
    Termination termination() {
        return finished ? termination : null;
    }
}
