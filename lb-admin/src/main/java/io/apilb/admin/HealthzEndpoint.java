package io.apilb.admin;

import io.apilb.core.backend.BackendPool;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.util.function.BooleanSupplier;

/**
 * {@code GET /healthz} for a Keepalived {@code vrrp_script} or a container health check: 200
 * {@code {"status":"ok","routable":N}} while at least one backend is routable and the balancer is
 * not shutting down, else 503 with the reason, so that a VIP moves to a peer that can serve.
 * Needs no credentials, even beyond loopback (see {@link TokenAuth}). Lock-free, on the event loop.
 */
final class HealthzEndpoint {
    static final String PATH = "/healthz";

    private final BackendPool pool;
    private final BooleanSupplier shuttingDown;

    HealthzEndpoint(BackendPool pool, BooleanSupplier shuttingDown) {
        this.pool = pool;
        this.shuttingDown = shuttingDown;
    }

    void addTo(Router router) {
        router.add(HttpMethod.GET, PATH, this::get);
    }

    private AdminResponse get(AdminRequest request) {
        int routable = pool.snapshot().routable().size();
        String status;
        if (shuttingDown.getAsBoolean()) {
            status = "shutting down";
        } else if (routable == 0) {
            status = "no routable backend";
        } else {
            status = "ok";
        }
        // Written by hand (the status is one of three constants): Keepalived and container runtimes
        // call this every few seconds, and the rest of the API's JSON, Jackson's 600-odd classes and
        // some 5 MB resident, then loads only once someone reads the API.
        String body = "{\"status\":\"" + status + "\",\"routable\":" + routable + "}";
        return AdminResponse.of(status.equals("ok") ? HttpResponseStatus.OK : HttpResponseStatus.SERVICE_UNAVAILABLE,
                AdminResponse.JSON, body);
    }
}
