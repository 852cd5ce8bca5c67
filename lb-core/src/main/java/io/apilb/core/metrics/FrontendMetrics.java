package io.apilb.core.metrics;

import io.apilb.core.proxy.FrontendStats;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Objects;
import java.util.function.ToDoubleFunction;

/**
 * Exposes the client-side counters of {@link FrontendStats}. With the Prometheus naming convention:
 * {@code apilb_frontend_connections_active}, {@code apilb_frontend_connections_accepted_total},
 * {@code apilb_frontend_connections_rejected_total} (connection limit),
 * {@code apilb_frontend_connections_no_backend_total},
 * {@code apilb_frontend_connections_fail_open_total} and
 * {@code apilb_frontend_connections_client_hello_timeout_total}.
 *
 * <p>Meters read the lock-free counters from whichever thread scrapes them.
 */
public final class FrontendMetrics implements MeterBinder {
    public static final String PREFIX = "apilb.frontend.connections";

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
        counter(registry, "rejected", FrontendStats::rejected,
                "Client connections closed at once because the connection limit was reached");
        counter(registry, "no.backend", FrontendStats::noBackend,
                "Client connections closed because no backend could be dialled");
        counter(registry, "fail.open", FrontendStats::failOpen,
                "Client connections routed while no backend was routable");
        counter(registry, "client.hello.timeout", FrontendStats::clientHelloTimeouts,
                "Client connections closed because they sent nothing within timeouts.clientHello");
    }

    private void counter(MeterRegistry registry, String name, ToDoubleFunction<FrontendStats> f, String description) {
        FunctionCounter.builder(PREFIX + "." + name, stats, f).description(description).register(registry);
    }
}
