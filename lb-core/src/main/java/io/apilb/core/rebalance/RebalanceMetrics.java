package io.apilb.core.rebalance;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;

import java.util.List;
import java.util.Objects;

/**
 * The meters of rebalancing; this class is their only owner. With the Prometheus naming convention:
 * <ul>
 *   <li>{@code apilb_rebalance_closes_total}: connections closed to even out the masters (each also
 *       has the access-log termination {@code rebalance});</li>
 *   <li>{@code apilb_rebalance_spread}: the most loaded master's excess over its weighted fair share
 *       of established connections, 0.25 meaning 25 % over, measured every tick.</li>
 * </ul>
 */
public final class RebalanceMetrics implements MeterBinder {
    public static final String CLOSES = "apilb.rebalance.closes";
    public static final String SPREAD = "apilb.rebalance.spread";
    /** Every meter name this binder registers. */
    public static final List<String> METERS = List.of(CLOSES, SPREAD);

    private final Rebalancer rebalancer;

    public RebalanceMetrics(Rebalancer rebalancer) {
        this.rebalancer = Objects.requireNonNull(rebalancer, "rebalancer");
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        FunctionCounter.builder(CLOSES, rebalancer, Rebalancer::closes)
                .description("Connections closed by rebalancing to even out the masters")
                .register(registry);
        Gauge.builder(SPREAD, rebalancer, Rebalancer::spread)
                .description("Excess of the most loaded master over its weighted fair share of connections")
                .strongReference(true)
                .register(registry);
    }
}
