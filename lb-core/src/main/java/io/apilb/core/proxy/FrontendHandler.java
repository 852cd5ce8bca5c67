package io.apilb.core.proxy;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendConnections;
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

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;

/**
 * One proxied connection, from accept to access-log line: waits for the client's first bytes,
 * dials a backend (the next one on refusal or timeout, see {@link BackendChoice}), then relays
 * bytes both ways untouched. Its helpers each keep one concern: {@link FirstFlight} the bytes sent
 * before the backend was ready, {@link ActivityTimer} the client-hello and idle timeouts,
 * {@link ConnectionRecord} the counters and the access log.
 *
 * <p>Nothing is dialled before the client speaks: TLS is client-first, so a connection that stays
 * silent for {@code timeouts.clientHello} is closed without a backend ever seeing it.
 *
 * <p>Handshake redispatch: until the master's first byte, the client has received nothing, so the
 * bytes it sent can go to another master unnoticed. A master that stays silent for
 * {@code timeouts.firstByte}, or is found dead meanwhile, loses the connection to the next master,
 * which gets the same bytes again ({@link FirstFlight}), within {@code retries}. The last master
 * tried has no deadline, so a slow but only master still serves. After the master's first byte
 * nothing is ever replayed.
 *
 * <p>Flow control: both channels start with AUTO_READ off. The client is read on from accept: its
 * first bytes start the dial, and what arrives while dialling is held ({@link FirstFlight}) until
 * {@link FirstFlight#READ_AHEAD_BYTES}, when reads pause until the backend is connected. A
 * ClientHello is far smaller, so an ordinary connection never changes its read interest before
 * the relay starts (each change is an epoll_ctl call). Once connected, both read on their own, and
 * a side stops reading exactly while the other side is not writable; writes are flushed once per
 * read burst. A client that stops reading therefore stops the backend being read, and the
 * kernel's windows push back to the server, so memory stays bounded. (Switching auto-read only on
 * writability changes, rather than requesting each read, spares the epoll transport two epoll_ctl
 * calls per read burst.)
 *
 * <p>All methods run on the client channel's event loop (the backend channel shares it), except
 * {@link #close(Termination)}, which hops onto it.
 */
final class FrontendHandler extends ChannelInboundHandlerAdapter implements ProxiedConnection {
    private static final Logger log = LoggerFactory.getLogger(FrontendHandler.class);

    private final ProxyContext ctx;
    private final String listener;
    private final ConnectionRecord record;
    private final BackendChoice choice;
    private final FirstFlight firstFlight = new FirstFlight();
    private Channel client;
    private Channel backendChannel;
    private Backend backend;
    private ActivityTimer timer;
    private boolean dialling;
    private boolean awaitingFirstByte;
    private ScheduledFuture<?> firstByteTimer;
    private boolean clientInputShut;
    private boolean backendInputShut;
    private boolean finished;

    FrontendHandler(ProxyContext ctx, String listener) {
        this.ctx = ctx;
        this.listener = listener;
        this.record = new ConnectionRecord(ctx.nextId());
        this.choice = new BackendChoice(ctx);
    }

    @Override
    public void channelActive(ChannelHandlerContext c) {
        client = c.channel();
        timer = new ActivityTimer(client.eventLoop());
        if (ctx.stats.opened() > ctx.maxConnections) {
            ctx.stats.rejectedByLimit();
            record.terminate(Termination.LIMIT);
            client.close();
            return;
        }
        ctx.connections.add(this);
        timer.arm(ctx.clientHelloMillis, this::clientHelloTimeout);
        client.config().setAutoRead(true);
    }

    private void clientHelloTimeout() {
        if (finished || dialling) {
            return;
        }
        ctx.stats.clientHelloTimedOut();
        log.debug("conn={} client={} sent nothing within {} ms", record.id(), client.remoteAddress(),
                ctx.clientHelloMillis);
        record.terminate(Termination.CLIENT_HELLO_TIMEOUT);
        client.close();
    }

    private void dial() {
        Backend next = choice.next();
        if (next == null) {
            giveUp();
            return;
        }
        record.attempted();
        next.connections().dialStarted();
        Future<Channel> f = ctx.connector.connect(next, client, new BackendHandler(this));
        f.addListener(done -> connected(next, done));
    }

    private void giveUp() {
        ctx.stats.noBackendFound();
        log.debug("conn={} client={} no backend to dial after {} attempts", record.id(), client.remoteAddress(),
                record.attempts());
        record.terminate(Termination.NO_BACKEND);
        client.close();
    }

    private void connected(Backend target, Future<?> done) {
        target.connections().dialEnded();
        if (!done.isSuccess()) {
            Throwable cause = done.cause();
            ConnectFailure reason = ConnectFailure.of(cause);
            ctx.pool.connectFailed(target, reason, cause);
            log.debug("conn={} client={} backend={} connect failed ({}): {}", record.id(), client.remoteAddress(),
                    target.name(), reason.tag(), cause.toString());
            retryOrGiveUp(target);
            return;
        }
        Channel ch = (Channel) done.getNow();
        if (finished || !client.isActive()) {
            // The client left while we dialled.
            ch.close();
            return;
        }
        ctx.pool.connectSucceeded(target);
        Termination refused = target.connections().register(this);
        if (refused != null) {
            // Put in maintenance, found dead or removed while we dialled. Nothing was sent to it
            // yet, so the client's bytes go to another backend instead; this leg's close must not
            // reach the client.
            ch.pipeline().remove(BackendHandler.class);
            ch.close();
            log.debug("conn={} client={} backend={} refused the connection after the dial ({})", record.id(),
                    client.remoteAddress(), target.name(), refused.tag());
            retryOrGiveUp(target);
            return;
        }
        backendChannel = ch;
        backend = target;
        long millis = record.connected();
        log.debug("conn={} client={} backend={} connected in {} ms", record.id(), client.remoteAddress(),
                target.name(), millis);
        ConnectionRecord.sentTo(target, firstFlight.replayTo(backendChannel));
        awaitingFirstByte = true;
        if (ctx.firstByteMillis > 0 && record.attempts() <= ctx.retries && choice.hasOtherThan(target)) {
            firstByteTimer = client.eventLoop().schedule(this::firstByteTimeout, ctx.firstByteMillis,
                    TimeUnit.MILLISECONDS);
        }
        timer.arm(ctx.idleMillis, this::idleTimeout);
        if (clientInputShut) {
            shutdownOutputAfterFlush(backendChannel);
        } else {
            client.config().setAutoRead(backendChannel.isWritable());
        }
        backendChannel.config().setAutoRead(client.isWritable());
    }

    private void retryOrGiveUp(Backend failed) {
        if (finished || !client.isActive()) {
            return;
        }
        choice.exclude(failed);
        if (record.attempts() <= ctx.retries) {
            dial();
        } else {
            giveUp();
        }
    }

    private void firstByteTimeout() {
        if (finished || !awaitingFirstByte) {
            return;
        }
        Backend silent = backend;
        log.debug("conn={} client={} backend={} sent nothing within {} ms", record.id(), client.remoteAddress(),
                silent.name(), ctx.firstByteMillis);
        ctx.pool.connectFailed(silent, ConnectFailure.FIRST_BYTE_TIMEOUT, null);
        moveOff(ConnectFailure.FIRST_BYTE_TIMEOUT.tag());
    }

    /**
     * Abandons a backend that has not sent a byte yet and sends the client's bytes to the next
     * one, or closes the client when it cannot (bytes beyond the bound, or no retries left).
     */
    private void moveOff(String why) {
        Backend old = backend;
        Channel oldChannel = backendChannel;
        awaitingFirstByte = false;
        cancelFirstByteTimer();
        backend = null;
        backendChannel = null;
        old.connections().unregister(this);
        // Its close must not reach the client, and its last events must not be relayed.
        oldChannel.pipeline().remove(BackendHandler.class);
        oldChannel.close();
        record.moved(why);
        if (!firstFlight.replayable()) {
            record.terminate(Termination.ERROR);
            client.close();
            return;
        }
        pauseIfFull();
        retryOrGiveUp(old);
    }

    private void cancelFirstByteTimer() {
        if (firstByteTimer != null) {
            firstByteTimer.cancel(false);
            firstByteTimer = null;
        }
    }

    private void idleTimeout() {
        if (finished) {
            return;
        }
        log.debug("conn={} client={} idle timeout", record.id(), client.remoteAddress());
        record.terminate(Termination.IDLE_TIMEOUT);
        closeBoth();
    }

    // Client -> backend.

    @Override
    public void channelRead(ChannelHandlerContext c, Object msg) {
        ByteBuf buf = (ByteBuf) msg;
        if (backendChannel == null && !finished) {
            // The first flight, or more bytes while the dial is in flight (also after reads paused:
            // epoll reads a peer's last bytes and FIN as soon as the FIN arrives).
            int n = buf.readableBytes();
            if (!firstFlight.hold(buf)) {
                log.debug("conn={} client={} sent over {} bytes before its backend was connected", record.id(),
                        client.remoteAddress(), FirstFlight.MAX_HELD_BYTES);
                record.terminate(Termination.ERROR);
                client.close();
                return;
            }
            record.fromClient(n);
            pauseIfFull();
            if (!dialling) {
                dialling = true;
                timer.cancel();
                dial();
            }
            return;
        }
        if (backendChannel == null || !backendChannel.isActive()) {
            buf.release();
            return;
        }
        int n = buf.readableBytes();
        record.fromClient(n);
        ConnectionRecord.sentTo(backend, n);
        timer.touch();
        if (awaitingFirstByte) {
            firstFlight.keepCopy(buf);
        }
        backendChannel.write(buf, backendChannel.voidPromise());
    }

    /** Stops reading the client until its backend is connected, once enough of it is held. */
    private void pauseIfFull() {
        if (firstFlight.full()) {
            setAutoRead(client, false);
        }
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
            if (!dialling && !finished) {
                // Closed without a word: there is nothing to pass on, and no backend to tell.
                record.terminate(Termination.CLIENT_CLOSE);
                client.close();
            } else if (backendChannel == null && !finished) {
                // Still dialling: the FIN is passed on once the backend is connected.
                log.debug("conn={} client={} half-closed before its backend was connected", record.id(),
                        client.remoteAddress());
            } else if (backendChannel == null || backendInputShut) {
                record.terminate(Termination.CLIENT_CLOSE);
                client.close();
            } else {
                shutdownOutputAfterFlush(backendChannel);
            }
        }
        c.fireUserEventTriggered(evt);
    }

    @Override
    public void channelInactive(ChannelHandlerContext c) {
        record.terminate(Termination.CLIENT_CLOSE);
        if (backendChannel != null) {
            closeAfterFlush(backendChannel);
        }
        finish();
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext c, Throwable cause) {
        log.debug("conn={} client={} client error: {}", record.id(), client == null ? null : client.remoteAddress(),
                cause.toString());
        record.terminate(cause instanceof IOException ? Termination.CLIENT_CLOSE : Termination.ERROR);
        closeBoth();
    }

    // Backend -> client, called by BackendHandler.

    void fromBackend(ByteBuf buf) {
        if (!client.isActive()) {
            buf.release();
            return;
        }
        if (awaitingFirstByte) {
            // From now on the connection belongs to this master: nothing is ever replayed.
            awaitingFirstByte = false;
            cancelFirstByteTimer();
            firstFlight.release();
        }
        record.toClient(backend, buf.readableBytes());
        timer.touch();
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
            record.terminate(Termination.BACKEND_CLOSE);
            closeBoth();
        } else {
            shutdownOutputAfterFlush(client);
        }
    }

    void backendInactive() {
        record.terminate(Termination.BACKEND_CLOSE);
        closeAfterFlush(client);
    }

    void backendError(Throwable cause) {
        log.debug("conn={} backend={} backend error: {}", record.id(), backend == null ? null : backend.name(),
                cause.toString());
        record.terminate(cause instanceof IOException ? Termination.BACKEND_CLOSE : Termination.ERROR);
        closeBoth();
    }

    // Closing.

    @Override
    public void close(Termination why) {
        closeFor(null, why);
    }

    @Override
    public void closeFor(BackendConnections from, Termination why) {
        Channel ch = client;
        if (ch == null) {
            return;
        }
        if (!ch.eventLoop().inEventLoop()) {
            ch.eventLoop().execute(() -> closeFor(from, why));
            return;
        }
        if (from != null && (backend == null || backend.connections() != from)) {
            // Swept from a backend this connection has since left (it moved before that backend's
            // first byte): the close was meant for that backend, not for where it is now.
            return;
        }
        if (why == Termination.BACKEND_DOWN && awaitingFirstByte && !finished) {
            // Found dead before it answered: the client has seen nothing, so move it.
            moveOff(why.tag());
            return;
        }
        record.terminate(why);
        closeBoth();
    }

    @Override
    public void closeIf(Predicate<ProxiedConnection> stillTrue, Termination why) {
        Channel ch = client;
        if (ch == null) {
            return;
        }
        // A task runs after the loop has processed the reads that were ready when it woke, so the
        // test sees the stamps of every byte that arrived before the decision was made.
        ch.eventLoop().execute(() -> {
            if (!finished && stillTrue.test(this)) {
                close(why);
            }
        });
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
        timer.cancel();
        cancelFirstByteTimer();
        firstFlight.release();
        if (backend != null) {
            backend.connections().unregister(this);
        }
        // Every accepted connection was counted in channelActive, even one rejected by the limit.
        ctx.stats.closed();
        ctx.connections.remove(this);
        record.log(client.remoteAddress(), listener, backend);
    }

    // Read by rebalancing from its own thread; see ProxiedConnection.

    @Override
    public long establishedAtNanos() {
        return record.establishedAt();
    }

    @Override
    public long lastClientByteNanos() {
        return record.lastFromClient();
    }

    @Override
    public long lastBackendByteNanos() {
        return record.lastFromBackend();
    }

    @Override
    public boolean backlogged() {
        // Racy reads of event-loop fields: a connection registered a moment ago may still show no
        // backend channel here, and is far younger than any minAge; isWritable() is thread-safe.
        Channel c = client;
        Channel b = backendChannel;
        return c != null && b != null && (!c.isWritable() || !b.isWritable());
    }

    /** For tests: why it ended, or null while it lives. */
    Termination termination() {
        return finished ? record.termination() : null;
    }
}
