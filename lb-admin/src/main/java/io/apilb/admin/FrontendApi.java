package io.apilb.admin;

import io.apilb.core.proxy.FrontendStats;
import io.apilb.core.proxy.RejectReason;
import io.apilb.core.resource.DescriptorBudget;

import io.netty.handler.codec.http.HttpMethod;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;

/**
 * {@code GET /api/v1/frontend}: the client-side counters, all listeners together, the rejections
 * by reason, the {@value #BUSIEST} busiest client addresses (IPv6 by /64) with their open and
 * refused connections, and whether the balancer is shutting down. Lock-free reads on the event
 * loop; the busiest sources walk the per-source table once.
 */
final class FrontendApi {
    static final int BUSIEST = 10;

    private final FrontendStats stats;
    private final BooleanSupplier shuttingDown;

    FrontendApi(FrontendStats stats, BooleanSupplier shuttingDown) {
        this.stats = stats;
        this.shuttingDown = shuttingDown;
    }

    void addTo(Router router) {
        router.add(HttpMethod.GET, "/api/v1/frontend", this::get);
    }

    private AdminResponse get(AdminRequest request) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("activeConnections", stats.active());
        body.put("acceptedConnections", stats.accepted());
        body.put("rejectedConnections", stats.rejected());
        body.put("noBackendConnections", stats.noBackend());
        body.put("failOpenConnections", stats.failOpen());
        Map<String, Long> byReason = new LinkedHashMap<>();
        for (RejectReason r : RejectReason.values()) {
            byReason.put(r.tag(), stats.rejected(r));
        }
        body.put("rejectedByReason", byReason);
        body.put("busiestSources", stats.sources().busiest(BUSIEST));
        // The limit in force: lower than configured when it did not fit the open-files limit.
        body.put("maxConnections", DescriptorBudget.process().maxConnections());
        body.put("configuredMaxConnections", DescriptorBudget.process().configuredMaxConnections());
        body.put("shuttingDown", shuttingDown.getAsBoolean());
        return AdminResponse.ok(body);
    }
}
