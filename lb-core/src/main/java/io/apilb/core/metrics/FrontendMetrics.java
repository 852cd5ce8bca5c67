package io.apilb.core.metrics;

import io.apilb.core.proxy.FrontendStats;
import io.apilb.core.proxy.RejectReason;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Exposes the client-side counters of {@link FrontendStats}. With the Prometheus naming convention:
 * {@code apilb_frontend_connections_active}, {@code apilb_frontend_connections_accepted_total},
 * {@code apilb_frontend_connections_rejected_total} ({@code limits.maxConnections} only, as before
 * per-source limits, so existing alerts keep their meaning),
 * {@code apilb_frontend_connections_no_backend_total},
 * {@code apilb_frontend_connections_fail_open_total},
 {@code apilb_frontend_connections_client_hello_timeout_total} and
 * {@code apilb_frontend_rejected_total{reason}}, the rejections by {@link RejectReason}
 * ({@code max_connections}, {@code per_source_connections}, {@code per_source_rate}).
 *
 * <p>Meters read the lock-free counters from whichever thread scrapes them.
 */
public final class FrontendMetrics implements MeterBinder {
    public static final String PREFIX = "apilb.frontend.connections";
    public static final String REJECTED = "apilb.frontend.rejected";

    private final FrontendStats stats;

    public FrontendMetrics(FrontendStats stats) {
        this.stats = Objects.requireNonNull(stats, "stats");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder(PREFIX + ".active", stats, FrontendStats::active)
                .strongReference(true)
                .description("Client connections open now")
                .register(registry);
        counter(registry, "accepted", FrontendStats::accepted, "Client connections accepted since start");
        counter(registry, "rejected", s -> s.rejected(RejectReason.MAX_CONNECTIONS),
                "Client connections closed at once because limits.maxConnections was reached");
        counter(registry, "no.backend", FrontendStats::noBackend,
                "Client connections closed because no backend could be dialled");
        counter(registry, "fail.open", FrontendStats::failOpen,
                "Client connections routed while no backend was routable");
        counter(registry, "client.hello.timeout", FrontendStats::clientHelloTimeouts,
                "Client connections closed because they sent nothing within timeouts.clientHello");
        for (RejectReason reason : RejectReason.values()) {
            FunctionCounter.builder(REJECTED, stats, s -> s.rejected(reason))
                    .tag("reason", reason.tag())
                    .description("Client connections closed at once, by the limit that refused them")
                    .register(registry);
        }
    }

    private void counter(MeterRegistry registry, String name, ToDoubleFunction<FrontendStats> f, String description) {
        FunctionCounter.builder(PREFIX + "." + name, stats, f).description(description).register(registry);
    }
}
