package io.apilb.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Termination;
import io.apilb.core.balance.Selector;
import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HostPort;
import io.netty.buffer.ByteBuf;
import io.netty.buffer.Unpooled;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelOutboundHandlerAdapter;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.embedded.EmbeddedChannel;
import io.netty.util.concurrent.Promise;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

class FrontendHandlerTest {
    private final BackendPool pool = new BackendPool(List.of(
            new BackendConfig("m1", new HostPort("10.0.0.1", 6443), 1),
            new BackendConfig("m2", new HostPort("10.0.0.2", 6443), 1)));
    private final List<Dial> dials = new ArrayList<>();
    private final List<EmbeddedChannel> channels = new ArrayList<>();
    private ProxyContext context = ProxyContext.standalone(pool, Selector.roundRobin(), this::fakeConnect, 2, true, 100, 0);

    private record Dial(Backend backend, Promise<Channel> promise, ChannelHandler handler) {
    }

    /** Counts read() requests that reach the transport. */
    private static final class ReadCounter extends ChannelOutboundHandlerAdapter {
        int reads;

        @Override
        public void read(ChannelHandlerContext ctx) {
            reads++;
            ctx.read();
        }
    }

    private io.netty.util.concurrent.Future<Channel> fakeConnect(Backend backend, Channel client, ChannelHandler handler) {
        Promise<Channel> p = client.eventLoop().newPromise();
        dials.add(new Dial(backend, p, handler));
        return p;
    }

    private EmbeddedChannel client(ChannelHandler... handlers) throws Exception {
        EmbeddedChannel ch = new EmbeddedChannel(false, false, handlers);
        ch.config().setAutoRead(false);
        ch.register();
        channels.add(ch);
        return ch;
    }

    private EmbeddedChannel completeDial(int index, ReadCounter backendReads) throws Exception {
        Dial d = dials.get(index);
        EmbeddedChannel backend = new EmbeddedChannel(false, false, backendReads, d.handler());
        backend.config().setAutoRead(false);
        backend.register();
        channels.add(backend);
        d.promise().setSuccess(backend);
        return backend;
    }

    @AfterEach
    void finish() {
        for (EmbeddedChannel ch : channels) {
            ch.finishAndReleaseAll();
        }
    }

    @Test
    void readsNothingFromTheClientBeforeTheBackendIsConnected() throws Exception {
        ReadCounter clientReads = new ReadCounter();
        FrontendHandler frontend = new FrontendHandler(context, "test");
        client(clientReads, frontend);
        assertEquals(1, dials.size(), "one dial started at accept");
        assertEquals(0, clientReads.reads, "no read requested while dialling");

        ReadCounter backendReads = new ReadCounter();
        completeDial(0, backendReads);
        assertEquals(1, clientReads.reads, "client read starts once the backend is connected");
        assertEquals(1, backendReads.reads, "backend read starts too");
        assertEquals(1, pool.get("m1").connectionCount());
    }

    @Test
    void relaysBytesBothWaysUntouchedAndCountsThem() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = client(frontend);
        EmbeddedChannel backend = completeDial(0, new ReadCounter());

        client.writeInbound(Unpooled.copiedBuffer("\u0016\u0003\u0001hello", StandardCharsets.ISO_8859_1));
        ByteBuf toBackend = backend.readOutbound();
        assertEquals("\u0016\u0003\u0001hello", toBackend.toString(StandardCharsets.ISO_8859_1));
        toBackend.release();

        backend.writeInbound(Unpooled.copiedBuffer("world", StandardCharsets.US_ASCII));
        ByteBuf toClient = client.readOutbound();
        assertEquals("world", toClient.toString(StandardCharsets.US_ASCII));
        toClient.release();

        Backend m1 = pool.get("m1");
        assertEquals(8, m1.stats().bytesIn());
        assertEquals(5, m1.stats().bytesOut());
    }

    @Test
    void releasesClientBytesWhenTheBackendIsGone() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = client(frontend);
        EmbeddedChannel backend = completeDial(0, new ReadCounter());
        ChannelHandlerContext ctx = client.pipeline().context(frontend);
        backend.close();

        ByteBuf late = Unpooled.copiedBuffer("late", StandardCharsets.US_ASCII);
        // Bytes already read from the client in the same burst as the backend's close.
        frontend.channelRead(ctx, late);
        assertEquals(0, late.refCnt(), "dropped bytes are released");
        assertFalse(client.isOpen(), "client closed after the backend closed");
        assertEquals(Termination.BACKEND_CLOSE, frontend.termination());
    }

    @Test
    void releasesBackendBytesWhenTheClientIsGone() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = client(frontend);
        EmbeddedChannel backend = completeDial(0, new ReadCounter());
        client.close();

        ByteBuf late = Unpooled.copiedBuffer("late", StandardCharsets.US_ASCII);
        // Bytes already read from the backend in the same burst as the client's close.
        frontend.fromBackend(late);
        assertEquals(0, late.refCnt(), "dropped bytes are released");
        assertFalse(backend.isOpen(), "backend closed after the client closed");
        assertEquals(Termination.CLIENT_CLOSE, frontend.termination());
        assertEquals(0, pool.get("m1").connectionCount());
        assertEquals(0, pool.get("m1").stats().active());
    }

    @Test
    void closesAnIdleConnectionWhenTheIdleTimeoutPasses() throws Exception {
        context = ProxyContext.standalone(pool, Selector.roundRobin(), this::fakeConnect, 2, true, 100,
                TimeUnit.HOURS.toMillis(1));
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = new EmbeddedChannel(false, false, frontend);
        client.config().setAutoRead(false);
        client.register();
        client.freezeTime();
        channels.add(client);
        EmbeddedChannel backend = completeDial(0, new ReadCounter());

        client.advanceTimeBy(59, TimeUnit.MINUTES);
        client.runScheduledPendingTasks();
        assertTrue(client.isOpen(), "still open before the idle timeout");
        client.writeInbound(Unpooled.copiedBuffer("ping", StandardCharsets.US_ASCII));
        ((ByteBuf) backend.readOutbound()).release();
        client.advanceTimeBy(59, TimeUnit.MINUTES);
        client.runScheduledPendingTasks();
        assertTrue(client.isOpen(), "client bytes restart the idle clock");
        backend.writeInbound(Unpooled.copiedBuffer("pong", StandardCharsets.US_ASCII));
        ((ByteBuf) client.readOutbound()).release();
        client.advanceTimeBy(59, TimeUnit.MINUTES);
        client.runScheduledPendingTasks();
        assertTrue(client.isOpen(), "backend bytes restart it too");

        client.advanceTimeBy(2, TimeUnit.MINUTES);
        client.runScheduledPendingTasks();
        assertFalse(client.isOpen(), "closed after an hour without bytes");
        assertEquals(Termination.IDLE_TIMEOUT, frontend.termination());
    }

    @Test
    void retriesTheNextBackendWhenAConnectIsRefused() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        ReadCounter clientReads = new ReadCounter();
        EmbeddedChannel client = client(clientReads, frontend);
        dials.get(0).promise().setFailure(new ConnectException("Connection refused"));
        assertEquals(2, dials.size(), "redispatched");
        assertEquals("m2", dials.get(1).backend().name());
        assertEquals(0, clientReads.reads, "client still not read");
        completeDial(1, new ReadCounter());
        assertTrue(client.isOpen());
        assertEquals(1, pool.get("m1").stats().connectFailures(ConnectFailure.CONNECT_REFUSED));
        assertEquals(0, pool.get("m1").stats().active(), "failed dial does not count as active");
        assertEquals(1, pool.get("m2").stats().active());
    }

    @Test
    void givesUpAfterRetriesAndClosesTheClient() throws Exception {
        context = ProxyContext.standalone(pool, Selector.roundRobin(), this::fakeConnect, 1, true, 100, 0);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = client(frontend);
        dials.get(0).promise().setFailure(new ConnectTimeoutException("timed out"));
        dials.get(1).promise().setFailure(new ConnectException("Connection refused"));
        assertEquals(2, dials.size(), "one try and one retry");
        assertFalse(client.isOpen());
        assertEquals(Termination.NO_BACKEND, frontend.termination());
        assertEquals(1, context.stats.noBackend());
        assertEquals(1, pool.get("m1").stats().connectFailures(ConnectFailure.CONNECT_TIMEOUT));
    }

    @Test
    void rejectsConnectionsBeyondTheLimit() throws Exception {
        context = ProxyContext.standalone(pool, Selector.roundRobin(), this::fakeConnect, 2, true, 1, 0);
        client(new FrontendHandler(context, "test"));
        FrontendHandler second = new FrontendHandler(context, "test");
        EmbeddedChannel rejected = client(second);
        assertFalse(rejected.isOpen());
        assertEquals(Termination.LIMIT, second.termination());
        assertEquals(1, context.stats.rejected());
        assertEquals(1, context.stats.active());
        assertEquals(1, dials.size(), "the rejected connection dialled nothing");
    }

    @Test
    void closeFromAnotherCauseRecordsThatCause() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = client(frontend);
        completeDial(0, new ReadCounter());
        assertNull(frontend.termination());
        assertEquals(1, pool.get("m1").closeConnections(Termination.BACKEND_DOWN));
        assertFalse(client.isOpen());
        assertEquals(Termination.BACKEND_DOWN, frontend.termination());
    }

    @Test
    void bytesThatArriveWhileDiallingAreReplayedInOrder() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = client(frontend);
        // As epoll does when a FIN arrives: data is read although no read was requested.
        client.writeInbound(Unpooled.copiedBuffer("hello ", StandardCharsets.US_ASCII));
        client.writeInbound(Unpooled.copiedBuffer("world", StandardCharsets.US_ASCII));
        client.pipeline().fireUserEventTriggered(io.netty.channel.socket.ChannelInputShutdownEvent.INSTANCE);
        assertTrue(client.isOpen(), "a half-closed client waits for its backend");

        EmbeddedChannel backend = completeDial(0, new ReadCounter());
        ByteBuf first = backend.readOutbound();
        ByteBuf second = backend.readOutbound();
        assertEquals("hello world", first.toString(StandardCharsets.US_ASCII) + second.toString(StandardCharsets.US_ASCII));
        first.release();
        second.release();
        assertEquals(11, pool.get("m1").stats().bytesIn());
    }

    @Test
    void tooManyBytesBeforeConnectCloseTheClient() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = client(frontend);
        ByteBuf big = Unpooled.buffer(FrontendHandler.MAX_EARLY_BYTES + 1).writeZero(FrontendHandler.MAX_EARLY_BYTES + 1);
        client.writeInbound(big);
        assertEquals(0, big.refCnt());
        assertFalse(client.isOpen());
        assertEquals(Termination.ERROR, frontend.termination());
        Dial d = dials.get(0);
        completeDial(0, new ReadCounter());
        assertEquals(0, d.backend().connectionCount(), "the late backend leg is closed, not registered");
        assertEquals(0, d.backend().stats().active());
    }
}
