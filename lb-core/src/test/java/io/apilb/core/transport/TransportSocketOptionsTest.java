package io.apilb.core.transport;

import io.apilb.core.config.TcpConfig;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.EventLoopGroup;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollSocketChannelConfig;
import io.netty.util.concurrent.DefaultThreadFactory;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

/**
 * The options each leg's socket really has, read back from the kernel: the client leg gets its
 * options from the listening socket, which Linux copies to every accepted socket.
 */
class TransportSocketOptionsTest {
    private static final TcpConfig TUNED =
            new TcpConfig(Duration.ofSeconds(41), Duration.ofSeconds(7), 5, Duration.ofMillis(12_345), true);
    private static final TcpConfig NAGLE =
            new TcpConfig(Duration.ofSeconds(30), Duration.ofSeconds(10), 3, Duration.ofSeconds(30), false);

    private EventLoopGroup group;

    @BeforeEach
    void setUp() {
        assumeTrue(Epoll.isAvailable(), "the epoll transport is not available here");
        group = Transport.EPOLL.newGroup(1, new DefaultThreadFactory("options-test", true));
    }

    @AfterEach
    void tearDown() {
        if (group != null) {
            group.shutdownGracefully(0, 1, TimeUnit.SECONDS).syncUninterruptibly();
        }
    }

    @Test
    void acceptedAndDialledSocketsCarryTheConfiguredOptions() throws Exception {
        Channel[] legs = connect(TUNED);
        for (Channel leg : legs) {
            EpollSocketChannelConfig c = (EpollSocketChannelConfig) leg.config();
            String which = leg.parent() == null ? "dialled" : "accepted";
            assertTrue(c.isTcpNoDelay(), which + " TCP_NODELAY");
            assertTrue(c.isKeepAlive(), which + " SO_KEEPALIVE");
            assertEquals(41, c.getTcpKeepIdle(), which + " TCP_KEEPIDLE");
            assertEquals(7, c.getTcpKeepIntvl(), which + " TCP_KEEPINTVL");
            assertEquals(5, c.getTcpKeepCnt(), which + " TCP_KEEPCNT");
            assertEquals(12_345, c.getTcpUserTimeout(), which + " TCP_USER_TIMEOUT");
        }
    }

    @Test
    void noDelayOffReachesBothLegs() throws Exception {
        for (Channel leg : connect(NAGLE)) {
            EpollSocketChannelConfig c = (EpollSocketChannelConfig) leg.config();
            assertEquals(false, c.isTcpNoDelay(), (leg.parent() == null ? "dialled" : "accepted") + " TCP_NODELAY");
            assertTrue(c.isKeepAlive());
            assertEquals(30, c.getTcpKeepIdle());
        }
    }

    /** Returns {accepted, dialled}. */
    private Channel[] connect(TcpConfig tcp) throws Exception {
        CompletableFuture<Channel> accepted = new CompletableFuture<>();
        ServerBootstrap server = new ServerBootstrap()
                .group(group)
                .channel(Transport.EPOLL.serverChannelClass())
                .childHandler(new ChannelInitializer<>() {
                    @Override
                    protected void initChannel(Channel ch) {
                        accepted.complete(ch);
                    }
                });
        Transport.EPOLL.configureChildren(server, tcp);
        Channel listener = server.bind(new InetSocketAddress("127.0.0.1", 0)).sync().channel();

        Bootstrap client = new Bootstrap().group(group).channel(Transport.EPOLL.socketChannelClass())
                .handler(new ChannelInboundHandlerAdapter());
        Transport.EPOLL.configureClient(client, tcp);
        Channel dialled = client.connect(listener.localAddress()).sync().channel();
        return new Channel[] {accepted.get(5, TimeUnit.SECONDS), dialled};
    }
}
