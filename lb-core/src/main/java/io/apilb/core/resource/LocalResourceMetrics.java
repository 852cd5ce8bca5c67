package io.apilb.core.resource;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.Objects;

/**
 * Exposes {@link LocalResources} as {@code apilb_local_resource_errors_total{kind}}, one series per
 * {@link LocalResourceError} ({@code emfile}, {@code enfile}, {@code eaddrnotavail}, {@code enobufs},
 * {@code enomem}), present from the start so that rates work before the first shortage. Meters read
 * the lock-free counters from whichever thread scrapes them.
 */
public final class LocalResourceMetrics implements MeterBinder {
    public static final String ERRORS = "apilb.local.resource.errors";

    private final LocalResources resources;

    public LocalResourceMetrics(LocalResources resources) {
        this.resources = Objects.requireNonNull(resources, "resources");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        for (LocalResourceError kind : LocalResourceError.values()) {
            FunctionCounter.builder(ERRORS, resources, r -> r.count(kind))
                    .tags("kind", kind.tag())
                    .description("Sockets apilb could not open, accept or connect for lack of its own resources")
                    .register(registry);
        }
    }
}
