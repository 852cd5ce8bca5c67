package io.apilb.health;

import io.apilb.core.config.TlsConfig;

import io.netty.buffer.ByteBufAllocator;
import io.netty.handler.ssl.OpenSsl;
import io.netty.handler.ssl.SslContext;
import io.netty.handler.ssl.SslContextBuilder;
import io.netty.handler.ssl.SslHandler;
import io.netty.handler.ssl.SslProvider;
import io.netty.handler.ssl.util.InsecureTrustManagerFactory;
import io.netty.util.NetUtil;

import java.util.List;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLEngine;
import javax.net.ssl.SSLException;
import javax.net.ssl.SSLParameters;

/**
 * Builds the probes' TLS client context from {@code health.tls} and the per-probe {@link SslHandler}s.
 * <ul>
 *   <li>{@code ca}: the only trusted roots; without it, the JVM's default trust store.</li>
 *   <li>{@code insecure}: no chain and no name verification (bootstrap only).</li>
 *   <li>otherwise the chain is verified and the name is checked with endpoint identification
 *       {@code HTTPS} against {@code serverName}, or the backend's host (an IP literal is matched
 *       against the certificate's IP addresses).</li>
 *   <li>{@code cert}/{@code key}: PEM client certificate chain and key, presented when asked.</li>
 * </ul>
 * BoringSSL (netty-tcnative) when it loads, the JDK provider otherwise. Contexts are built once at
 * start; handlers are created on the prober's event loop.
 */
final class ProbeSslContexts {
    private ProbeSslContexts() {
    }

    /** BoringSSL when netty-tcnative is usable on this platform, else the JDK's TLS. */
    static SslProvider defaultProvider() {
        return OpenSsl.isAvailable() ? SslProvider.OPENSSL : SslProvider.JDK;
    }

    /**
     * A client context for probes.
     *
     * @throws IllegalArgumentException when {@code cert} and {@code key} are not given together
     * @throws SSLException             when a PEM file cannot be read or parsed
     */
    static SslContext build(TlsConfig tls, SslProvider provider) throws SSLException {
        if ((tls.cert() == null) != (tls.key() == null)) {
            throw new IllegalArgumentException("health.tls: cert and key (expected: both or neither)");
        }
        SslContextBuilder b = SslContextBuilder.forClient().sslProvider(provider);
        if (tls.insecure()) {
            b.trustManager(InsecureTrustManagerFactory.INSTANCE).endpointIdentificationAlgorithm(null);
        } else {
            b.endpointIdentificationAlgorithm("HTTPS");
            if (tls.ca() != null) {
                b.trustManager(tls.ca().toFile());
            }
        }
        if (tls.cert() != null) {
            b.keyManager(tls.cert().toFile(), tls.key().toFile());
        }
        return b.build();
    }

    /**
     * A handler for one probe connection.
     *
     * @param verifyName the name the certificate must carry ({@code serverName} or the backend's host);
     *                   also sent as SNI unless it is an IP literal, which SNI cannot carry
     * @param insecure   true to leave endpoint identification off
     */
    static SslHandler newHandler(SslContext context, ByteBufAllocator alloc, String verifyName, int port,
                                 boolean insecure) {
        // The engine's peer host is what both providers verify the certificate against.
        SslHandler handler = context.newHandler(alloc, verifyName, port);
        SSLEngine engine = handler.engine();
        SSLParameters params = engine.getSSLParameters();
        params.setEndpointIdentificationAlgorithm(insecure ? null : "HTTPS");
        if (!NetUtil.isValidIpV4Address(verifyName) && !NetUtil.isValidIpV6Address(verifyName)) {
            params.setServerNames(List.of(new SNIHostName(verifyName)));
        }
        engine.setSSLParameters(params);
        return handler;
    }
}
