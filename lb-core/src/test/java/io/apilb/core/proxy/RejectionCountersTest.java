package io.apilb.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;

import io.apilb.core.metrics.FrontendMetrics;

import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

/** Refused connections counted once each, by reason, in the stats and the meters. */
class RejectionCountersTest {
    @Test
    void eachReasonHasItsOwnSeriesAndTheOlderMeterKeepsTheGlobalLimitOnly() {
        FrontendStats stats = new FrontendStats();
        MeterRegistry registry = new SimpleMeterRegistry();
        new FrontendMetrics(stats).bindTo(registry);

        stats.opened();
        stats.rejectedByLimit();
        stats.rejectedAtAccept(RejectReason.PER_SOURCE_RATE);
        stats.rejectedAtAccept(RejectReason.PER_SOURCE_RATE);
        stats.rejectedAtAccept(RejectReason.PER_SOURCE_CONNECTIONS);

        assertEquals(1, count(registry, "max_connections"));
        assertEquals(2, count(registry, "per_source_rate"));
        assertEquals(1, count(registry, "per_source_connections"));
        assertEquals(1, registry.get(FrontendMetrics.PREFIX + ".rejected").functionCounter().count());
        assertEquals(4, stats.rejected(), "the API's total covers every reason");
        assertEquals(4, stats.accepted(), "a connection refused per source was still accepted once");
    }

    private static double count(MeterRegistry registry, String reason) {
        return registry.get(FrontendMetrics.REJECTED).tag("reason", reason).functionCounter().count();
    }
}
