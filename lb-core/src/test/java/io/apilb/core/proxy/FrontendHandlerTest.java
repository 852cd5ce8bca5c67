package io.apilb.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.backend.AdminState;
import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.ConnectFailure;
import io.apilb.core.backend.Health;
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
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

class FrontendHandlerTest {
    private final BackendPool pool = new BackendPool(List.of(
            new BackendConfig("m1", new HostPort("10.0.0.1", 6443), 1),
            new BackendConfig("m2", new HostPort("10.0.0.2", 6443), 1)));
    private static final String HELLO = "\u0016\u0003\u0001hello";
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

    /** A client channel whose event loop runs in virtual time, from the moment it is active. */
    private EmbeddedChannel frozen(FrontendHandler frontend) throws Exception {
        EmbeddedChannel ch = new EmbeddedChannel(false, false, frontend);
        ch.config().setAutoRead(false);
        ch.register();
        ch.freezeTime();
        channels.add(ch);
        return ch;
    }

    /** Moves {@code ch}'s virtual clock on and runs what fell due. */
    private static void elapse(EmbeddedChannel ch, long amount, TimeUnit unit) {
        ch.advanceTimeBy(amount, unit);
        ch.runScheduledPendingTasks();
    }

    /** A client that has sent its first flight, which starts the dial. */
    private EmbeddedChannel speaking(ChannelHandler... handlers) throws Exception {
        EmbeddedChannel ch = client(handlers);
        ch.writeInbound(Unpooled.copiedBuffer(HELLO, StandardCharsets.ISO_8859_1));
        return ch;
    }

    /** Completes dial {@code index} and checks that the first flight arrived first, once. */
    private EmbeddedChannel connect(int index) throws Exception {
        EmbeddedChannel backend = completeDial(index, new ReadCounter());
        ByteBuf hello = backend.readOutbound();
        assertEquals(HELLO, hello.toString(StandardCharsets.ISO_8859_1));
        hello.release();
        return backend;
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
    void dialsOnlyOnceTheClientSpeaksAndKeepsReadingItWhileDialling() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = client(frontend);
        assertEquals(0, dials.size(), "nothing dialled for a silent client");
        assertTrue(client.config().isAutoRead(), "read from accept, for the first flight");

        client.writeInbound(Unpooled.copiedBuffer(HELLO, StandardCharsets.ISO_8859_1));
        assertEquals(1, dials.size(), "one dial once the client spoke");
        assertEquals(1, pool.get("m1").connections().dialsInFlight());
        assertEquals(0, pool.get("m1").connections().active(), "a dial in flight is not established");
        assertTrue(client.config().isAutoRead(), "a ClientHello does not pause reads while dialling");

        ReadCounter backendReads = new ReadCounter();
        EmbeddedChannel backend = completeDial(0, backendReads);
        ByteBuf hello = backend.readOutbound();
        assertEquals(HELLO, hello.toString(StandardCharsets.ISO_8859_1));
        hello.release();
        assertTrue(client.config().isAutoRead(), "the client is still read once the backend is connected");
        assertEquals(1, backendReads.reads, "backend read starts");
        assertEquals(1, pool.get("m1").connections().active());
        assertEquals(0, pool.get("m1").connections().dialsInFlight());
    }

    private ProxyContext withClientHelloTimeout() {
        return ProxyContext.standalone(pool, Selector.roundRobin(), this::fakeConnect, 2, true, 100,
                TimeUnit.HOURS.toMillis(1), TimeUnit.SECONDS.toMillis(10), 0);
    }

    @Test
    void closesASilentClientAtTheClientHelloTimeoutWithoutDialling() throws Exception {
        context = withClientHelloTimeout();
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozen(frontend);

        elapse(client, 9, TimeUnit.SECONDS);
        assertTrue(client.isOpen(), "still open before the client-hello timeout");
        elapse(client, 2, TimeUnit.SECONDS);
        assertFalse(client.isOpen(), "closed after 10 s of silence");
        assertEquals(Termination.CLIENT_HELLO_TIMEOUT, frontend.termination());
        assertEquals(1, context.stats.clientHelloTimeouts());
        assertEquals(0, dials.size(), "no backend ever saw it");
    }

    @Test
    void aClientThatSpeaksInTimeIsNotClosedByTheClientHelloTimeout() throws Exception {
        context = withClientHelloTimeout();
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozen(frontend);
        client.advanceTimeBy(5, TimeUnit.SECONDS);
        client.writeInbound(Unpooled.copiedBuffer(HELLO, StandardCharsets.ISO_8859_1));
        elapse(client, 30, TimeUnit.SECONDS);
        assertTrue(client.isOpen(), "a slow dial is not the client's silence");
        connect(0);
        elapse(client, 30, TimeUnit.MINUTES);
        assertTrue(client.isOpen());
        assertNull(frontend.termination());
        assertEquals(0, context.stats.clientHelloTimeouts());
    }

    @Test
    void aClientThatClosesWithoutSpeakingIsClosedWithoutDialling() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = client(frontend);
        client.pipeline().fireUserEventTriggered(io.netty.channel.socket.ChannelInputShutdownEvent.INSTANCE);
        assertFalse(client.isOpen());
        assertEquals(Termination.CLIENT_CLOSE, frontend.termination());
        assertEquals(0, dials.size());
    }

    @Test
    void relaysBytesBothWaysUntouchedAndCountsThem() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = speaking(frontend);
        EmbeddedChannel backend = connect(0);

        client.writeInbound(Unpooled.copiedBuffer("more", StandardCharsets.ISO_8859_1));
        ByteBuf toBackend = backend.readOutbound();
        assertEquals("more", toBackend.toString(StandardCharsets.ISO_8859_1));
        toBackend.release();

        backend.writeInbound(Unpooled.copiedBuffer("world", StandardCharsets.US_ASCII));
        ByteBuf toClient = client.readOutbound();
        assertEquals("world", toClient.toString(StandardCharsets.US_ASCII));
        toClient.release();

        Backend m1 = pool.get("m1");
        assertEquals(HELLO.length() + 4, m1.stats().bytesIn());
        assertEquals(5, m1.stats().bytesOut());
    }

    @Test
    void releasesClientBytesWhenTheBackendIsGone() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = speaking(frontend);
        EmbeddedChannel backend = connect(0);
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
        EmbeddedChannel client = speaking(frontend);
        EmbeddedChannel backend = connect(0);
        client.close();

        ByteBuf late = Unpooled.copiedBuffer("late", StandardCharsets.US_ASCII);
        // Bytes already read from the backend in the same burst as the client's close.
        frontend.fromBackend(late);
        assertEquals(0, late.refCnt(), "dropped bytes are released");
        assertFalse(backend.isOpen(), "backend closed after the client closed");
        assertEquals(Termination.CLIENT_CLOSE, frontend.termination());
        assertEquals(0, pool.get("m1").connections().active());
        assertEquals(0, pool.get("m1").connections().dialsInFlight());
    }

    @Test
    void closesAnIdleConnectionWhenTheIdleTimeoutPasses() throws Exception {
        context = ProxyContext.standalone(pool, Selector.roundRobin(), this::fakeConnect, 2, true, 100,
                TimeUnit.HOURS.toMillis(1));
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozen(frontend);
        client.writeInbound(Unpooled.copiedBuffer(HELLO, StandardCharsets.ISO_8859_1));
        EmbeddedChannel backend = connect(0);

        elapse(client, 59, TimeUnit.MINUTES);
        assertTrue(client.isOpen(), "still open before the idle timeout");
        client.writeInbound(Unpooled.copiedBuffer("ping", StandardCharsets.US_ASCII));
        ((ByteBuf) backend.readOutbound()).release();
        elapse(client, 59, TimeUnit.MINUTES);
        assertTrue(client.isOpen(), "client bytes restart the idle clock");
        backend.writeInbound(Unpooled.copiedBuffer("pong", StandardCharsets.US_ASCII));
        ((ByteBuf) client.readOutbound()).release();
        elapse(client, 59, TimeUnit.MINUTES);
        assertTrue(client.isOpen(), "backend bytes restart it too");

        elapse(client, 2, TimeUnit.MINUTES);
        assertFalse(client.isOpen(), "closed after an hour without bytes");
        assertEquals(Termination.IDLE_TIMEOUT, frontend.termination());
    }

    @Test
    void retriesTheNextBackendWhenAConnectIsRefused() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = speaking(frontend);
        dials.get(0).promise().setFailure(new ConnectException("Connection refused"));
        assertEquals(2, dials.size(), "redispatched");
        assertEquals("m2", dials.get(1).backend().name());
        connect(1);
        assertTrue(client.isOpen());
        assertEquals(1, pool.get("m1").stats().connectFailures(ConnectFailure.CONNECT_REFUSED));
        assertEquals(0, pool.get("m1").connections().dialsInFlight(), "a failed dial is over");
        assertEquals(0, pool.get("m1").connections().active(), "a failed dial never counts as established");
        assertEquals(1, pool.get("m2").connections().active());
    }

    @Test
    void givesUpAfterRetriesAndClosesTheClient() throws Exception {
        context = ProxyContext.standalone(pool, Selector.roundRobin(), this::fakeConnect, 1, true, 100, 0);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = speaking(frontend);
        dials.get(0).promise().setFailure(new ConnectTimeoutException("timed out"));
        dials.get(1).promise().setFailure(new ConnectException("Connection refused"));
        assertEquals(2, dials.size(), "one try and one retry");
        assertFalse(client.isOpen());
        assertEquals(Termination.NO_BACKEND, frontend.termination());
        assertEquals(1, context.stats.noBackend());
        assertEquals(1, pool.get("m1").stats().connectFailures(ConnectFailure.CONNECT_TIMEOUT));
    }

    @Test
    void countsAConnectionRoutedWhileFailingOpenOnceWhateverItsDials() throws Exception {
        pool.setHealth(pool.get("m1"), Health.DOWN, null);
        pool.setHealth(pool.get("m2"), Health.DOWN, null);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        speaking(frontend);
        dials.get(0).promise().setFailure(new ConnectException("Connection refused"));
        connect(1);
        assertEquals(2, dials.size(), "two dials while failing open");
        assertEquals(1, context.stats.failOpen(), "one connection");
    }

    @Test
    void rejectsConnectionsBeyondTheLimit() throws Exception {
        context = ProxyContext.standalone(pool, Selector.roundRobin(), this::fakeConnect, 2, true, 1, 0);
        speaking(new FrontendHandler(context, "test"));
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
        EmbeddedChannel client = speaking(frontend);
        EmbeddedChannel backend = connect(0);
        backend.writeInbound(Unpooled.copiedBuffer("S", StandardCharsets.US_ASCII));
        ((ByteBuf) client.readOutbound()).release();
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

    /** {@code n} bytes counting up from {@code from}, so that a lost, doubled or reordered byte shows. */
    private static ByteBuf pattern(int from, int n) {
        ByteBuf b = Unpooled.buffer(n);
        for (int i = 0; i < n; i++) {
            b.writeByte((from + i) % 251);
        }
        return b;
    }

    /** Sends 8 KiB chunks of the counting pattern until {@code total} bytes, while reads are on. */
    private static int sendWhileRead(EmbeddedChannel client, int sent, int total) {
        while (sent < total && client.config().isAutoRead()) {
            int n = Math.min(8 * 1024, total - sent);
            client.writeInbound(pattern(sent, n));
            sent += n;
        }
        return sent;
    }

    private static void assertPattern(int n, ByteBuf received) {
        assertEquals(n, received.readableBytes(), "every byte, once");
        assertTrue(pattern(0, n).equals(received), "in order, untouched");
        received.release();
    }

    private static ByteBuf drainBytes(EmbeddedChannel ch) {
        ByteBuf all = Unpooled.buffer();
        for (ByteBuf b = ch.readOutbound(); b != null; b = ch.readOutbound()) {
            all.writeBytes(b);
            b.release();
        }
        return all;
    }

    @Test
    void aFirstFlightBeyondTheBoundArrivingWhileDiallingIsDeliveredIntactAndReadsPauseUntilConnected()
            throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = client(frontend);
        int sent = sendWhileRead(client, 0, FirstFlight.MAX_BYTES + 8 * 1024);
        assertEquals(1, dials.size(), "one dial, at the first bytes");
        assertFalse(client.config().isAutoRead(), "reads pause once enough is held");
        assertTrue(sent >= FirstFlight.READ_AHEAD_BYTES && sent < FirstFlight.MAX_BYTES, "paused at " + sent);
        // As epoll does when a FIN arrives with reads paused: the rest is read all the same.
        client.writeInbound(pattern(sent, FirstFlight.MAX_BYTES + 8 * 1024 - sent));
        assertTrue(client.isOpen(), "held, not refused");

        EmbeddedChannel backend = completeDial(0, new ReadCounter());
        assertTrue(client.config().isAutoRead(), "reads resume at connect");
        assertPattern(FirstFlight.MAX_BYTES + 8 * 1024, drainBytes(backend));
        assertEquals(FirstFlight.MAX_BYTES + 8 * 1024, pool.get("m1").stats().bytesIn());
    }

    @Test
    void aFirstFlightThatPausedReadsIsReplayedWholeToTheNextMaster() throws Exception {
        context = withFirstByte(2);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozen(frontend);
        int sent = sendWhileRead(client, 0, FirstFlight.MAX_BYTES);
        assertFalse(client.config().isAutoRead(), "paused while dialling");
        EmbeddedChannel first = completeDial(0, new ReadCounter());
        assertPattern(sent, drainBytes(first));
        elapse(client, 1001, TimeUnit.MILLISECONDS);
        assertEquals(2, dials.size(), "moved to the next master");
        EmbeddedChannel second = completeDial(1, new ReadCounter());
        assertPattern(sent, drainBytes(second));
        assertTrue(client.config().isAutoRead(), "reads resume at the second connect");
    }

    @Test
    void moreThanCanBeHeldBeforeConnectClosesTheClient() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = speaking(frontend);
        ByteBuf big = Unpooled.buffer(FirstFlight.MAX_HELD_BYTES).writeZero(FirstFlight.MAX_HELD_BYTES);
        client.writeInbound(big);
        assertEquals(0, big.refCnt());
        assertFalse(client.isOpen());
        assertEquals(Termination.ERROR, frontend.termination());
        Dial d = dials.get(0);
        completeDial(0, new ReadCounter());
        assertEquals(0, d.backend().connections().active(), "the late backend leg is closed, not registered");
        assertEquals(0, d.backend().connections().dialsInFlight());
    }

    /** A backend put in maintenance, found dead or removed while the dial was in flight. */
    static Stream<Arguments> refusals() {
        return Stream.of(
                Arguments.of("maint", (java.util.function.BiConsumer<BackendPool, Backend>)
                        (p, b) -> p.setAdminState(b, AdminState.MAINT), Termination.BACKEND_MAINT),
                Arguments.of("dead", (java.util.function.BiConsumer<BackendPool, Backend>)
                        (p, b) -> p.setHealth(b, Health.DOWN, Termination.BACKEND_DOWN), Termination.BACKEND_DOWN),
                Arguments.of("removed", (java.util.function.BiConsumer<BackendPool, Backend>)
                        (p, b) -> p.reconfigure(List.of(new BackendConfig("m2", new HostPort("10.0.0.2", 6443), 1))),
                        Termination.BACKEND_REMOVED));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("refusals")
    void aDialThatCompletesAfterItsBackendWasTakenOutGoesToAnotherBackend(
            String name, java.util.function.BiConsumer<BackendPool, Backend> takeOut, Termination why) throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = speaking(frontend);
        Backend m1 = dials.get(0).backend();
        assertEquals("m1", m1.name());
        takeOut.accept(pool, m1);
        assertEquals(why, m1.connections().refusing());

        EmbeddedChannel late = completeDial(0, new ReadCounter());
        assertFalse(late.isOpen(), "the late leg is closed");
        assertNull(late.readOutbound(), "and got none of the client's bytes");
        assertEquals(0, m1.connections().active(), "never registered, so never orphaned");
        assertEquals(2, dials.size(), "the client's bytes go to another backend");
        assertEquals("m2", dials.get(1).backend().name());
        connect(1);
        assertTrue(client.isOpen());
        assertEquals(1, pool.get("m2").connections().active());
        assertEquals(0, m1.stats().connectFailures(), "a refusal is not the backend's failure");
    }

    @Test
    void aDrainedOrUnreadyBackendStillTakesADialThatWasInFlight() throws Exception {
        FrontendHandler frontend = new FrontendHandler(context, "test");
        speaking(frontend);
        Backend m1 = dials.get(0).backend();
        pool.setAdminState(m1, AdminState.DRAIN);
        pool.setHealth(m1, Health.DOWN, null);
        connect(0);
        assertEquals(1, m1.connections().active());
        assertEquals(1, dials.size());
    }

    // Handshake redispatch.

    private ProxyContext withFirstByte(int retries) {
        return ProxyContext.standalone(pool, Selector.roundRobin(), this::fakeConnect, retries, true, 100,
                TimeUnit.HOURS.toMillis(1), 0, TimeUnit.SECONDS.toMillis(1));
    }

    /** A client in virtual time that has sent its first flight. */
    private EmbeddedChannel frozenSpeaking(FrontendHandler frontend) throws Exception {
        EmbeddedChannel client = frozen(frontend);
        send(client, HELLO);
        return client;
    }

    private static void send(EmbeddedChannel ch, String text) {
        ch.writeInbound(Unpooled.copiedBuffer(text, StandardCharsets.ISO_8859_1));
    }

    private static String drain(EmbeddedChannel ch) {
        StringBuilder out = new StringBuilder();
        for (ByteBuf b = ch.readOutbound(); b != null; b = ch.readOutbound()) {
            out.append(b.toString(StandardCharsets.ISO_8859_1));
            b.release();
        }
        return out.toString();
    }

    @Test
    void aMasterSilentPastFirstByteLosesTheConnectionToTheNextWhichGetsTheSameBytesOnce() throws Exception {
        context = withFirstByte(2);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozen(frontend);
        send(client, "part1|");
        send(client, "part2|");
        EmbeddedChannel first = completeDial(0, new ReadCounter());
        send(client, "part3");
        assertEquals("part1|part2|part3", drain(first));

        elapse(client, 999, TimeUnit.MILLISECONDS);
        assertEquals(1, dials.size(), "not before the deadline");
        elapse(client, 2, TimeUnit.MILLISECONDS);

        assertEquals(2, dials.size(), "moved to the next master");
        assertEquals("m2", dials.get(1).backend().name());
        assertFalse(first.isOpen(), "the silent leg is closed");
        assertTrue(client.isOpen(), "the client noticed nothing");
        assertEquals(1, pool.get("m1").stats().connectFailures(ConnectFailure.FIRST_BYTE_TIMEOUT));
        assertEquals(0, pool.get("m1").connections().active());
        EmbeddedChannel second = completeDial(1, new ReadCounter());
        assertEquals("part1|part2|part3", drain(second), "the same bytes, in order, once");

        second.writeInbound(Unpooled.copiedBuffer("hello back", StandardCharsets.US_ASCII));
        assertEquals("hello back", drain(client));
        elapse(client, 10, TimeUnit.SECONDS);
        assertEquals(2, dials.size());
        assertEquals(1, pool.get("m2").connections().active());
        assertEquals(17, pool.get("m1").stats().bytesIn());
        assertEquals(17, pool.get("m2").stats().bytesIn());
    }

    @Test
    void nothingIsReplayedOnceTheMasterHasSpoken() throws Exception {
        context = withFirstByte(2);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozenSpeaking(frontend);
        EmbeddedChannel backend = connect(0);
        backend.writeInbound(Unpooled.copiedBuffer("S", StandardCharsets.US_ASCII));
        assertEquals("S", drain(client));
        elapse(client, 5, TimeUnit.SECONDS);
        pool.setHealth(pool.get("m1"), Health.DOWN, Termination.BACKEND_DOWN);
        assertEquals(1, dials.size(), "never moved");
        assertFalse(client.isOpen(), "closed with its dead master, as before");
        assertEquals(Termination.BACKEND_DOWN, frontend.termination());
    }

    @Test
    void theLastMasterTriedHasNoFirstByteDeadline() throws Exception {
        context = withFirstByte(1);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozenSpeaking(frontend);
        connect(0);
        elapse(client, 1001, TimeUnit.MILLISECONDS);
        connect(1);
        elapse(client, 30, TimeUnit.SECONDS);
        assertEquals(2, dials.size(), "retries bound the attempts; the last one waits");
        assertTrue(client.isOpen());
    }

    @Test
    void withNoRetriesTheOnlyAttemptHasNoFirstByteDeadline() throws Exception {
        context = withFirstByte(0);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozenSpeaking(frontend);
        connect(0);
        elapse(client, 30, TimeUnit.SECONDS);
        assertEquals(1, dials.size(), "m2 exists, but no retry is allowed");
        assertTrue(client.isOpen());
    }

    @Test
    void aMasterFoundDeadBeforeItsFirstByteHandsTheConnectionOnInsteadOfClosingIt() throws Exception {
        context = withFirstByte(2);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozenSpeaking(frontend);
        connect(0);
        pool.setHealth(pool.get("m1"), Health.DOWN, Termination.BACKEND_DOWN);
        assertEquals(2, dials.size());
        connect(1);
        assertTrue(client.isOpen());
        assertNull(frontend.termination());
        assertEquals(0, pool.get("m1").stats().connectFailures(ConnectFailure.FIRST_BYTE_TIMEOUT),
                "already known dead: no extra failure");
    }

    @Test
    void aSweepOfTheMasterItHasLeftDoesNotCloseAMovedConnection() throws Exception {
        context = withFirstByte(2);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozenSpeaking(frontend);
        connect(0);
        elapse(client, 1001, TimeUnit.MILLISECONDS);
        assertEquals(2, dials.size(), "moved off m1, dialling m2");
        // The pool swept m1's connections just before the move and the close lands after it.
        frontend.closeFor(pool.get("m1").connections(), Termination.BACKEND_DOWN);
        assertTrue(client.isOpen(), "the sweep was for m1, which this connection has left");
        connect(1);
        assertTrue(client.isOpen());
        assertNull(frontend.termination());
        frontend.closeFor(pool.get("m2").connections(), Termination.BACKEND_MAINT);
        assertFalse(client.isOpen(), "a sweep of the master it is on still closes it");
        assertEquals(Termination.BACKEND_MAINT, frontend.termination());
    }

    @ParameterizedTest(name = "held before connect: {0}")
    @ValueSource(booleans = {true, false})
    void aFirstFlightBeyondTheBoundIsRelayedButCannotBeReplayed(boolean beforeConnect) throws Exception {
        context = withFirstByte(2);
        FrontendHandler frontend = new FrontendHandler(context, "test");
        EmbeddedChannel client = frozen(frontend);
        int n = FirstFlight.MAX_BYTES + 1;
        int early = beforeConnect ? n : 1;
        client.writeInbound(pattern(0, early));
        EmbeddedChannel backend = completeDial(0, new ReadCounter());
        if (early < n) {
            client.writeInbound(pattern(early, n - early));
        }
        assertPattern(n, drainBytes(backend));
        elapse(client, 1001, TimeUnit.MILLISECONDS);
        assertEquals(1, dials.size(), "not replayable, so not moved");
        assertFalse(client.isOpen());
    }
}
