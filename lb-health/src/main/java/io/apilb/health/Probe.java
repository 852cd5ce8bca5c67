package io.apilb.health;

import io.apilb.core.backend.Backend;
import io.apilb.core.config.HealthMode;
import io.apilb.core.config.HostPort;

import io.netty.bootstrap.Bootstrap;
import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelInitializer;
import io.netty.channel.ChannelOption;
import io.netty.channel.EventLoop;
import io.netty.channel.socket.nio.NioSocketChannel;
import io.netty.handler.codec.http.HttpClientCodec;
import io.netty.handler.ssl.SslHandler;
import io.netty.resolver.AddressResolverGroup;

import java.net.InetSocketAddress;
import java.util.function.Consumer;

/**
 * Probes one backend: each {@link #run} opens a fresh connection (never reused, so a master that
 * wedged after accepting is seen), goes as deep as the mode asks (TCP connect, TLS handshake,
 * {@code GET path}), classifies the outcome and closes the connection.
 *
 * <p>Runs on the prober's event loop. The target (host, port, names) is fixed at construction: a
 * backend whose address changes is a new {@link Backend} and gets a new probe.
 */
final class Probe {
    private static final String USER_AGENT = "apilb-health";

    private final ProbeSettings settings;
    private final String host;
    private final int port;
    private final String verifyName;
    private final String hostHeader;
    private final EventLoop loop;
    private final Bootstrap bootstrap;

    Probe(Backend backend, ProbeSettings settings, EventLoop loop, AddressResolverGroup<InetSocketAddress> resolver) {
        this.settings = settings;
        HostPort address = backend.address();
        this.host = address.host();
        this.port = settings.port() != 0 ? settings.port() : address.port();
        this.verifyName = settings.serverName() != null ? settings.serverName() : host;
        this.hostHeader = hostHeader(verifyName, port);
        this.loop = loop;
        // The probe's own timer ends it; the connect timeout only stops the socket from lingering.
        this.bootstrap = new Bootstrap()
                .group(loop)
                .channel(NioSocketChannel.class)
                .resolver(resolver)
                .option(ChannelOption.CONNECT_TIMEOUT_MILLIS,
                        (int) Math.min(Integer.MAX_VALUE, settings.timeoutMillis()))
                .option(ChannelOption.TCP_NODELAY, true);
    }

    /** Where probes go, {@code host:port}. */
    String target() {
        return new HostPort(host, port).toString();
    }

    /**
     * Starts one probe. {@code onResult} is called exactly once, on the event loop, within the
     * timeout (plus scheduling delay), unless the returned attempt is abandoned first.
     */
    ProbeAttempt run(Consumer<CheckResult> onResult) {
        ProbeAttempt attempt = new ProbeAttempt(settings, hostHeader, USER_AGENT, loop, onResult);
        ChannelFuture connect = bootstrap.clone().handler(new ChannelInitializer<Channel>() {
            @Override
            protected void initChannel(Channel ch) {
                if (settings.mode() != HealthMode.TCP) {
                    SslHandler ssl = ProbeSslContexts.newHandler(settings.sslContext(), ch.alloc(), verifyName, port,
                            settings.insecure());
                    // The attempt's timer bounds the handshake; the handler's own timer would only race it.
                    ssl.setHandshakeTimeoutMillis(0);
                    ssl.setCloseNotifyFlushTimeoutMillis(settings.timeoutMillis());
                    ch.pipeline().addLast(ssl);
                }
                if (settings.mode() == HealthMode.HTTPS) {
                    ch.pipeline().addLast(new HttpClientCodec());
                    ch.pipeline().addLast(new ProbeHttpHandler(attempt));
                }
                ch.pipeline().addLast(attempt);
            }
        }).connect(host, port);
        attempt.started(connect);
        return attempt;
    }

    private static String hostHeader(String name, int port) {
        String h = name.indexOf(':') >= 0 ? "[" + name + "]" : name;
        return port == 443 ? h : h + ":" + port;
    }
}
