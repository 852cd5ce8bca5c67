package io.apilb.core.proxy;

import io.apilb.core.backend.Backend;
import io.netty.channel.Channel;
import io.netty.channel.ChannelHandler;
import io.netty.util.concurrent.Future;

/**
 * Dials a backend for a client connection. The returned future completes on the client channel's
 * event loop, with the connected backend channel (AUTO_READ off, {@code handler} installed) or
 * with the cause of the failure.
 */
@FunctionalInterface
public interface BackendConnector {
    Future<Channel> connect(Backend backend, Channel client, ChannelHandler handler);
}
