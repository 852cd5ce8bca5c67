package io.apilb.core.transport;

import io.apilb.core.config.TcpConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelOption;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannelConfig;
import io.netty.channel.uring.IoUring;
import io.netty.util.concurrent.DefaultThreadFactory;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The options each leg's socket really has, read back from the kernel: the client leg gets its
 * options from the listening socket, which Linux copies to every accepted socket. TCP_NODELAY on
 * is not checked: Netty turns it on for every channel it creates, so only turning it off is
 * apilb's doing.
 */
class TransportSocketOptionsTest {
    private static final TcpConfig TUNED =
            new TcpConfig(Duration.ofSeconds(41), Duration.ofSeconds(7), 5, Duration.ofMillis(12_345), true);
    private static final TcpConfig NAGLE =
            new TcpConfig(Duration.ofSeconds(30), Duration.ofSeconds(10), 3, Duration.ofSeconds(30), false);

    private EventLoopGroup group;

    private void use(Transport transport) {
        switch (transport) {
            case EPOLL -> assumeTrue(Epoll.isAvailable(), "the epoll transport is not available here");
            case IO_URING -> assumeTrue(IoUring.isAvailable(), "io_uring is not available here");
            case NIO -> { }
        }
        group = transport.newGroup(1, new DefaultThreadFactory("options-test", true));
    }

    @AfterEach
    void tearDown() {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void acceptedAndDialledSocketsCarryTheConfiguredOptions() throws Exception {
        use(Transport.EPOLL);
        Channel[] legs = connect(Transport.EPOLL, TUNED);
        for (Channel leg : legs) {
            EpollSocketChannelConfig c = (EpollSocketChannelConfig) leg.config();
            String which = leg.parent() == null ? "dialled" : "accepted";
            assertTrue(c.isKeepAlive(), which + " SO_KEEPALIVE");
            assertEquals(41, c.getTcpKeepIdle(), which + " TCP_KEEPIDLE");
            assertEquals(7, c.getTcpKeepIntvl(), which + " TCP_KEEPINTVL");
            assertEquals(5, c.getTcpKeepCnt(), which + " TCP_KEEPCNT");
            assertEquals(12_345, c.getTcpUserTimeout(), which + " TCP_USER_TIMEOUT");
        }
    }

    @ParameterizedTest
    @EnumSource(Transport.class)
    void noDelayOffReachesBothLegs(Transport transport) throws Exception {
        use(transport);
        for (Channel leg : connect(transport, NAGLE)) {
            String which = leg.parent() == null ? "dialled" : "accepted";
            assertEquals(false, leg.config().getOption(ChannelOption.TCP_NODELAY), which + " TCP_NODELAY");
            assertEquals(true, leg.config().getOption(ChannelOption.SO_KEEPALIVE), which + " SO_KEEPALIVE");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Transport.class, names = {"EPOLL", "NIO"})
    void anIpv4AddressIsDialledOverAnIpv4Socket(Transport transport) throws Exception {
        use(transport);
        Channel dialled = connect(transport, TUNED)[1];
        int from = ((InetSocketAddress) dialled.localAddress()).getPort();
        int to = ((InetSocketAddress) dialled.remoteAddress()).getPort();
        // The kernel lists IPv4 sockets in tcp, and IPv6 ones, dual-stack included, in tcp6.
        assertTrue(listsConnection("tcp", from, to), "an IPv4 socket");
        assertFalse(listsConnection("tcp6", from, to), "not a dual-stack IPv6 one");
    }

    /** Whether {@code /proc/net/<table>} lists a socket from local port {@code from} to remote port {@code to}. */
    private static boolean listsConnection(String table, int from, int to) throws Exception {
        Path p = Path.of("/proc/net", table);
        assumeTrue(Files.isReadable(p), p + " is not readable here");
        String local = String.format(Locale.ROOT, ":%04X", from);
        String remote = String.format(Locale.ROOT, ":%04X", to);
        try (Stream<String> lines = Files.lines(p)) {
            // Columns: sl, local_address, rem_address, ...
            return lines.skip(1).map(l -> l.trim().split("\\s+"))
                    .anyMatch(c -> c[1].endsWith(local) && c[2].endsWith(remote));
        }
    }

    /** Returns {accepted, dialled}. */
    private Channel[] connect(Transport transport, TcpConfig tcp) throws Exception {
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        ServerBootstrap server = new ServerBootstrap()
                .group(group)
                .channel(transport.serverChannelClass())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted.complete(ch);
                    }
                });
        transport.configureChildren(server, tcp);
        Channel listener = server.bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();

        InetSocketAddress to = (InetSocketAddress) listener.localAddress();
        Bootstrap client = new Bootstrap().group(group).channelFactory(transport.socketChannelFactory(to))
                .handler(new ChannelInboundHandlerAdapter());
        transport.configureClient(client, tcp);
        Channel dialled = client.connect(to).sync().channel();
        return new Channel[] {accepted.get(5, TimeUnit.SECONDS), dialled};
    }
}
