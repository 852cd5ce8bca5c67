package io.apilb.core.proxy;

import io.apilb.core.backend.Backend;
import io.apilb.core.config.TcpConfig;
import io.apilb.core.config.Timeouts;
import io.apilb.core.transport.Transport;
import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelHandler;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Future;
import io.netty.util.concurrent.Promise;

import java.net.InetSocketAddress;
import java.util.concurrent.CompletableFuture;

/**
 * Dials backends over TCP on the client's own event loop, so both legs of a connection share one
 * thread and hand buffers over without locks or queue hops.
 */
final class SocketConnector implements BackendConnector {
    private final Transport transport;
    private final Bootstrap template;
    private final BackendResolver resolver;

    SocketConnector(Transport transport, TcpConfig tcp, Timeouts timeouts, BackendResolver resolver) {
        this.transport = transport;
        this.resolver = resolver;
        // No channel factory: each dial's socket is of its backend's address family.
        this.template = new Bootstrap()
                // Nothing is read from the backend until the client leg is ready to take it.
                .option(ChannelOption.AUTO_READ, false)
                .option(ChannelOption.ALLOW_HALF_CLOSURE, true)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS, (int) Math.min(Integer.MAX_VALUE, timeouts.connect().toMillis()));
        transport.configureClient(template, tcp);
    }

    @Override
    public Future<Channel> connect(Backend backend, Channel client, ChannelHandler handler) {
        EventLoop loop = client.eventLoop();
        Promise<Channel> promise = loop.newPromise();
        CompletableFuture<InetSocketAddress> address = resolver.resolve(backend.address());
        if (address.isDone() && !address.isCompletedExceptionally()) {
            dial(loop, address.join(), handler, promise);
        } else {
            address.whenComplete((addr, err) -> loop.execute(() -> {
                if (err != null) {
                    promise.tryFailure(BackendResolver.unwrap(err));
                } else {
                    dial(loop, addr, handler, promise);
                }
            }));
        }
        return promise;
    }

    private void dial(EventLoop loop, InetSocketAddress address, ChannelHandler handler, Promise<Channel> promise) {
        ChannelFuture f = template.clone(loop).channelFactory(transport.socketChannelFactory(address))
                .handler(handler).connect(address);
        f.addListener(done -> {
            if (done.isSuccess()) {
                if (!promise.trySuccess(f.channel())) {
                    f.channel().close();
                }
            } else {
                promise.tryFailure(done.cause());
            }
        });
    }
}
