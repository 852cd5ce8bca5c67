package io.apilb.admin;

import io.apilb.core.rebalance.Rebalancer;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code /api/v1/rebalance}. {@code GET} reports the settings, the current spread and the closes so
 * far; {@code POST} starts one rebalancing pass now (a change: it needs the token like the state
 * changes, and runs on the change worker), answering with what happened: {@code started},
 * {@code running} (a pass already runs), {@code continuous} ({@code rebalance.enabled} is on, no
 * pass needed) or {@code balanced} (the spread is within tolerance). 501 when the launcher gave
 * no rebalancer.
 */
final class RebalanceApi {
    private final Rebalancer rebalancer;

    RebalanceApi(Rebalancer rebalancer) {
        this.rebalancer = rebalancer;
    }

    void addTo(Router router) {
        router.add(HttpMethod.GET, "/api/v1/rebalance", this::status)
                .addBlocking(HttpMethod.POST, "/api/v1/rebalance", this::pass);
    }

    private AdminResponse status(AdminRequest request) {
        return rebalancer == null ? unavailable() : AdminResponse.ok(body(null));
    }

    private AdminResponse pass(AdminRequest request) {
        if (rebalancer == null) {
            return unavailable();
        }
        return AdminResponse.ok(body(rebalancer.requestPass().tag()));
    }

    private Map<String, Object> body(String status) {
        Map<String, Object> body = new LinkedHashMap<>();
        if (status != null) {
            body.put("status", status);
        }
        body.put("enabled", rebalancer.config().enabled());
        body.put("passRunning", rebalancer.passRunning());
        body.put("spread", Math.round(rebalancer.spread() * 1000) / 1000.0);
        body.put("tolerance", rebalancer.config().tolerance());
        body.put("closes", rebalancer.closes());
        return body;
    }

    private static AdminResponse unavailable() {
        return AdminResponse.error(HttpResponseStatus.NOT_IMPLEMENTED, "rebalancing is not available in this process");
    }
}
