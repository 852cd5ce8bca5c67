package io.apilb.core.transport;

import io.apilb.core.config.TcpConfig;
import io.netty.bootstrap.AbstractBootstrap;
import io.netty.bootstrap.Bootstrap;
import io.netty.bootstrap.ServerBootstrap;
import io.netty.channel.ChannelFactory;
import io.netty.channel.ChannelOption;
import io.netty.channel.IoHandlerFactory;
import io.netty.channel.MultiThreadIoEventLoopGroup;
import io.netty.channel.ServerChannel;
import io.netty.channel.epoll.Epoll;
import io.netty.channel.epoll.EpollChannelOption;
import io.netty.channel.epoll.EpollIoHandler;
import io.netty.channel.epoll.EpollServerSocketChannel;
import io.netty.channel.epoll.EpollSocketChannel;
import io.netty.channel.nio.NioIoHandler;
import io.netty.channel.socket.SocketChannel;
import io.netty.channel.socket.SocketProtocolFamily;
import io.netty.channel.uring.IoUring;
import io.netty.channel.uring.IoUringChannelOption;
import io.netty.channel.uring.IoUringIoHandler;
import io.netty.channel.uring.IoUringServerSocketChannel;
import io.netty.channel.uring.IoUringSocketChannel;
import io.netty.channel.socket.nio.NioChannelOption;
import io.netty.channel.socket.nio.NioServerSocketChannel;
import io.netty.channel.socket.nio.NioSocketChannel;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet4Address;
import java.net.InetSocketAddress;
import java.nio.channels.spi.SelectorProvider;
import java.util.Locale;
import java.util.concurrent.ThreadFactory;

import jdk.net.ExtendedSocketOptions;

/**
 * The socket implementation: Linux epoll when its native library loads, JDK NIO otherwise;
 * io_uring only when asked for. {@code -Dapilb.transport=} {@code nio} forces NIO, {@code epoll}
 * fails at start when epoll is unavailable, {@code io_uring} uses io_uring and fails when the
 * kernel or native library does not provide it. Knows how to put TCP_NODELAY, keepalive and
 * TCP_USER_TIMEOUT on each kind of socket (NIO has no TCP_USER_TIMEOUT), and makes the sockets
 * that dial backends.
 */
public enum Transport {
    EPOLL(EpollServerSocketChannel.class) {
        @Override
        IoHandlerFactory ioHandlerFactory() {
            return EpollIoHandler.newFactory();
        }

        @Override
        SocketChannel newSocketChannel(SocketProtocolFamily family) {
            return new EpollSocketChannel(family);
        }

        @Override
        void applyKeepAlive(AbstractBootstrap<?, ?> b, TcpConfig tcp, boolean child) {
            option(b, child, EpollChannelOption.TCP_KEEPIDLE, seconds(tcp.keepAliveIdle()));
            option(b, child, EpollChannelOption.TCP_KEEPINTVL, seconds(tcp.keepAliveInterval()));
            option(b, child, EpollChannelOption.TCP_KEEPCNT, tcp.keepAliveCount());
            option(b, child, EpollChannelOption.TCP_USER_TIMEOUT, (int) tcp.userTimeout().toMillis());
        }

        /**
         * On the listening socket, once: Linux copies TCP_NODELAY, SO_KEEPALIVE, the keepalive
         * timings and TCP_USER_TIMEOUT from a listener to each socket it accepts. That spares six
         * setsockopt calls per connection, out of some forty system calls a proxied connection costs.
         * Netty's epoll channels turn TCP_NODELAY on at creation, so it is set per child only to
         * turn it off.
         */
        @Override
        public void configureChildren(ServerBootstrap b, TcpConfig tcp) {
            b.option(LinuxTcp.NODELAY, tcp.noDelay() ? 1 : 0);
            b.option(LinuxTcp.KEEPALIVE, 1);
            b.option(LinuxTcp.KEEPIDLE, seconds(tcp.keepAliveIdle()));
            b.option(LinuxTcp.KEEPINTVL, seconds(tcp.keepAliveInterval()));
            b.option(LinuxTcp.KEEPCNT, tcp.keepAliveCount());
            b.option(LinuxTcp.USER_TIMEOUT, (int) tcp.userTimeout().toMillis());
            applyNoDelay(b, tcp, true);
        }

        /** Only to turn it off: the channel turns TCP_NODELAY on at creation. */
        @Override
        void applyNoDelay(AbstractBootstrap<?, ?> b, TcpConfig tcp, boolean child) {
            if (!tcp.noDelay()) {
                option(b, child, ChannelOption.TCP_NODELAY, false);
            }
        }
    },
    IO_URING(IoUringServerSocketChannel.class) {
        @Override
        IoHandlerFactory ioHandlerFactory() {
            return IoUringIoHandler.newFactory();
        }

        /** Netty's io_uring channel takes no family: its sockets are dual-stack IPv6 ones. */
        @Override
        SocketChannel newSocketChannel(SocketProtocolFamily family) {
            return new IoUringSocketChannel();
        }

        @Override
        void applyKeepAlive(AbstractBootstrap<?, ?> b, TcpConfig tcp, boolean child) {
            option(b, child, IoUringChannelOption.TCP_KEEPIDLE, seconds(tcp.keepAliveIdle()));
            option(b, child, IoUringChannelOption.TCP_KEEPINTVL, seconds(tcp.keepAliveInterval()));
            option(b, child, IoUringChannelOption.TCP_KEEPCNT, tcp.keepAliveCount());
            option(b, child, IoUringChannelOption.TCP_USER_TIMEOUT, (int) tcp.userTimeout().toMillis());
        }
    },
    NIO(NioServerSocketChannel.class) {
        @Override
        IoHandlerFactory ioHandlerFactory() {
            return NioIoHandler.newFactory();
        }

        @Override
        SocketChannel newSocketChannel(SocketProtocolFamily family) {
            return new NioSocketChannel(SelectorProvider.provider(), family);
        }

        @Override
        void applyKeepAlive(AbstractBootstrap<?, ?> b, TcpConfig tcp, boolean child) {
            // The JDK exposes keepalive tuning on Linux and macOS, but not TCP_USER_TIMEOUT.
            try {
                option(b, child, NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPIDLE), seconds(tcp.keepAliveIdle()));
                option(b, child, NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPINTERVAL),
                        seconds(tcp.keepAliveInterval()));
                option(b, child, NioChannelOption.of(ExtendedSocketOptions.TCP_KEEPCOUNT), tcp.keepAliveCount());
            } catch (UnsupportedOperationException e) {
                log.debug("keepalive tuning not supported here: {}", e.toString());
            }
        }
    };

    private static final Logger log = LoggerFactory.getLogger(Transport.class);

    private final Class<? extends ServerChannel> serverChannel;
    private final ChannelFactory<SocketChannel> ipv4Sockets = () -> newSocketChannel(SocketProtocolFamily.INET);
    private final ChannelFactory<SocketChannel> dualStackSockets = () -> newSocketChannel(SocketProtocolFamily.INET6);

    Transport(Class<? extends ServerChannel> serverChannel) {
        this.serverChannel = serverChannel;
    }

    /** The best transport available here, honouring {@code -Dapilb.transport} (epoll, io_uring, nio). */
    public static Transport detect() {
        String forced = System.getProperty("apilb.transport", "").trim().toLowerCase(Locale.ROOT);
        if (forced.equals("nio")) {
            return NIO;
        }
        if (forced.equals("io_uring")) {
            if (IoUring.isAvailable()) {
                return IO_URING;
            }
            throw new IllegalStateException("apilb.transport=io_uring but io_uring is unavailable",
                    IoUring.unavailabilityCause());
        }
        if (Epoll.isAvailable()) {
            return EPOLL;
        }
        if (forced.equals("epoll")) {
            throw new IllegalStateException("apilb.transport=epoll but epoll is unavailable", Epoll.unavailabilityCause());
        }
        return NIO;
    }

    abstract IoHandlerFactory ioHandlerFactory();

    abstract void applyKeepAlive(AbstractBootstrap<?, ?> b, TcpConfig tcp, boolean child);

    abstract SocketChannel newSocketChannel(SocketProtocolFamily family);

    public Class<? extends ServerChannel> serverChannelClass() {
        return serverChannel;
    }

    /**
     * Makes the sockets that dial {@code remote}, of its address family: an IPv4 backend gets an
     * IPv4 socket rather than a dual-stack IPv6 one, which spares the IPV6_V6ONLY setsockopt that
     * comes with every new IPv6 socket. An unresolved address gets a dual-stack socket.
     */
    public ChannelFactory<SocketChannel> socketChannelFactory(InetSocketAddress remote) {
        return remote.getAddress() instanceof Inet4Address ? ipv4Sockets : dualStackSockets;
    }

    /** An event loop group of this transport with {@code threads} threads (0: Netty's default, 2 × cores). */
    public MultiThreadIoEventLoopGroup newGroup(int threads, ThreadFactory threadFactory) {
        return new MultiThreadIoEventLoopGroup(threads, threadFactory, ioHandlerFactory());
    }

    /** TCP options for accepted client sockets. */
    public void configureChildren(ServerBootstrap b, TcpConfig tcp) {
        applyNoDelay(b, tcp, true);
        b.childOption(ChannelOption.SO_KEEPALIVE, true);
        applyKeepAlive(b, tcp, true);
    }

    /** TCP options for sockets dialled to backends. */
    public void configureClient(Bootstrap b, TcpConfig tcp) {
        applyNoDelay(b, tcp, false);
        b.option(ChannelOption.SO_KEEPALIVE, true);
        applyKeepAlive(b, tcp, false);
    }

    void applyNoDelay(AbstractBootstrap<?, ?> b, TcpConfig tcp, boolean child) {
        option(b, child, ChannelOption.TCP_NODELAY, tcp.noDelay());
    }

    private static int seconds(java.time.Duration d) {
        return (int) Math.max(1, d.toSeconds());
    }

    private static <T> void option(AbstractBootstrap<?, ?> b, boolean child, ChannelOption<T> option, T value) {
        if (child) {
            ((ServerBootstrap) b).childOption(option, value);
        } else {
            b.option(option, value);
        }
    }
}
