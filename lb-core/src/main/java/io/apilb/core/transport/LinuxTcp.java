package io.apilb.core.transport;

import io.netty.channel.unix.IntegerUnixChannelOption;

/**
 * Socket options by their Linux numbers, for the epoll transport's listening socket, whose Netty
 * config knows no TCP options by name. The numbers are the same on every Linux architecture
 * ({@code <netinet/tcp.h>}, {@code <asm-generic/socket.h>}).
 */
final class LinuxTcp {
    private static final int SOL_SOCKET = 1;
    private static final int IPPROTO_TCP = 6;

    static final IntegerUnixChannelOption KEEPALIVE = new IntegerUnixChannelOption("SO_KEEPALIVE", SOL_SOCKET, 9);
    static final IntegerUnixChannelOption NODELAY = new IntegerUnixChannelOption("TCP_NODELAY", IPPROTO_TCP, 1);
    static final IntegerUnixChannelOption KEEPIDLE = new IntegerUnixChannelOption("TCP_KEEPIDLE", IPPROTO_TCP, 4);
    static final IntegerUnixChannelOption KEEPINTVL = new IntegerUnixChannelOption("TCP_KEEPINTVL", IPPROTO_TCP, 5);
    static final IntegerUnixChannelOption KEEPCNT = new IntegerUnixChannelOption("TCP_KEEPCNT", IPPROTO_TCP, 6);
    static final IntegerUnixChannelOption USER_TIMEOUT =
            new IntegerUnixChannelOption("TCP_USER_TIMEOUT", IPPROTO_TCP, 18);

    private LinuxTcp() {
    }
}
