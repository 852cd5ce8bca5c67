package io.apilb.app;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.config.ApilbConfig;
import io.apilb.core.proxy.ProxyServer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.InetSocketAddress;
import java.util.List;
import java.util.Objects;

/**
 * One running balancer: the backend pool and the proxy, wired from one config, with the order
 * of start and stop in one place. Start and shutdown run on the main thread.
 */
public final class ApilbRuntime implements AutoCloseable {
    private static final Logger log = LoggerFactory.getLogger(ApilbRuntime.class);

    private final ApilbConfig config;
    private final BackendPool pool;
    private final ProxyServer proxy;
    private volatile boolean shuttingDown;

    private ApilbRuntime(ApilbConfig config) {
        this.config = config;
        this.pool = new BackendPool(config.backends());
        this.proxy = new ProxyServer(config, pool);
    }

    /** Builds and starts everything; on failure, stops what was started and rethrows. */
    public static ApilbRuntime start(ApilbConfig config) {
        Objects.requireNonNull(config, "config");
        ApilbRuntime rt = new ApilbRuntime(config);
        try {
            rt.proxy.start();
        } catch (RuntimeException e) {
            rt.proxy.close();
            throw e;
        }
        log.info("apilb started: {} listeners, {} backends, balance {}", config.listeners().size(),
                config.backends().size(), config.balance().name().toLowerCase(java.util.Locale.ROOT));
        return rt;
    }

    public ApilbConfig config() {
        return config;
    }

    public BackendPool pool() {
        return pool;
    }

    public ProxyServer proxy() {
        return proxy;
    }

    public List<InetSocketAddress> listenerAddresses() {
        return proxy.boundAddresses();
    }

    public boolean shuttingDown() {
        return shuttingDown;
    }

    /**
     * Graceful stop: stop accepting, give open connections {@code shutdownGrace}, then close the
     * rest. Blocks until done.
     */
    public void shutdown() {
        if (shuttingDown) {
            return;
        }
        shuttingDown = true;
        log.info("shutting down: no new connections, {} open get up to {} s", proxy.stats().active(),
                config.shutdownGrace().toSeconds());
        proxy.shutdown(config.shutdownGrace());
        log.info("apilb stopped");
    }

    @Override
    public void close() {
        shutdown();
    }
}
