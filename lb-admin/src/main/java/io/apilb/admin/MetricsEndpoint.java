package io.apilb.admin;

import io.apilb.core.backend.BackendPool;
import io.apilb.core.metrics.BackendPoolMetrics;
import io.apilb.core.metrics.FrontendMetrics;
import io.apilb.core.proxy.FrontendStats;
import io.apilb.core.resource.LocalResourceMetrics;
import io.apilb.core.resource.LocalResources;

import io.micrometer.core.instrument.binder.jvm.ClassLoaderMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmGcMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics;
import io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics;
import io.micrometer.core.instrument.binder.netty4.NettyAllocatorMetrics;
import io.micrometer.core.instrument.binder.system.ProcessorMetrics;
import io.micrometer.core.instrument.binder.system.UptimeMetrics;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.netty.buffer.ByteBufAllocator;
import io.netty.buffer.ByteBufAllocatorMetricProvider;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

/**
 * {@code GET /metrics}: the Prometheus registry in text format 0.0.4, or OpenMetrics when the
 * scraper asks for it in {@code Accept}. {@link #bind()} registers what the registry exposes:
 * backends and frontend counters ({@link BackendPoolMetrics}, {@link FrontendMetrics}), JVM memory,
 * local resource errors ({@link LocalResourceMetrics}), GC, threads, class loading, CPU, uptime, and
 * the default Netty allocator. Other modules (the health checker) register into the same registry.
 *
 * <p>Scraping walks every meter, so it runs on a read worker, not on the event loop.
 */
final class MetricsEndpoint implements AutoCloseable {
    static final String PROMETHEUS_TEXT = "text/plain; version=0.0.4; charset=utf-8";
    static final String OPENMETRICS_TEXT = "application/openmetrics-text; version=1.0.0; charset=utf-8";

    private final PrometheusMeterRegistry registry;
    private final BackendPoolMetrics backends;
    private final FrontendMetrics frontend;
    private JvmGcMetrics gc;

    MetricsEndpoint(PrometheusMeterRegistry registry, BackendPool pool, FrontendStats frontendStats) {
        this.registry = registry;
        this.backends = new BackendPoolMetrics(pool);
        this.frontend = new FrontendMetrics(frontendStats);
    }

    void addTo(Router router) {
        router.addBlocking(HttpMethod.GET, "/metrics", this::scrape);
    }

    /** Registers the meters; called once when the server starts. */
    synchronized void bind() {
        backends.bindTo(registry);
        frontend.bindTo(registry);
        new LocalResourceMetrics(LocalResources.process()).bindTo(registry);
        new JvmMemoryMetrics().bindTo(registry);
        gc = new JvmGcMetrics();
        gc.bindTo(registry);
        new JvmThreadMetrics().bindTo(registry);
        new ClassLoaderMetrics().bindTo(registry);
        new ProcessorMetrics().bindTo(registry);
        new UptimeMetrics().bindTo(registry);
        if (ByteBufAllocator.DEFAULT instanceof ByteBufAllocatorMetricProvider provider) {
            new NettyAllocatorMetrics(provider).bindTo(registry);
        }
    }

    /** Follows backends added or removed by a reload. */
    void refresh() {
        backends.refresh();
    }

    private AdminResponse scrape(AdminRequest request) {
        String accept = request.headers().get(HttpHeaderNames.ACCEPT);
        String type = accept != null && accept.contains("application/openmetrics-text")
                ? OPENMETRICS_TEXT
                : PROMETHEUS_TEXT;
        return AdminResponse.of(HttpResponseStatus.OK, type, registry.scrape(type));
    }

    @Override
    public synchronized void close() {
        if (gc != null) {
            gc.close();
            gc = null;
        }
    }
}
