package io.apilb.health;

import io.apilb.core.backend.Backend;
import io.apilb.core.backend.BackendPool;
import io.apilb.core.backend.Health;
import io.apilb.core.backend.Termination;
import io.apilb.core.config.OnDown;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.List;

/**
 * Acts on a flip of a backend's verdict: tells the pool (the one way health reaches the data
 * plane), logs the transition once (INFO up, WARN down), counts it, and watches for every backend
 * being DOWN at once.
 *
 * <p>Going DOWN acts on why. A master that stopped answering ({@link CheckStatus#meansDead()}) has
 * its connections closed when {@code onDown: close}, so clients reconnect to a live one instead of
 * hanging. A master that answers, only wrongly (e.g. {@code /readyz} 500 during kube-apiserver's
 * graceful shutdown), keeps them: it finishes their requests and closes them itself.
 *
 * <p>When every backend is DOWN the proxy fails open; this logs one WARN per such episode and sets
 * {@code apilb_health_all_down}. Confined to the prober's event loop.
 */
final class VerdictPublisher {
    private static final Logger log = LoggerFactory.getLogger(VerdictPublisher.class);

    private final BackendPool pool;
    private final OnDown onDown;
    private final boolean failOpen;
    private final HealthMetrics metrics;
    private boolean allDown;
    private long allDownSinceMillis;

    VerdictPublisher(BackendPool pool, OnDown onDown, boolean failOpen, HealthMetrics metrics) {
        this.pool = pool;
        this.onDown = onDown;
        this.failOpen = failOpen;
        this.metrics = metrics;
    }

    /**
     * Takes over a predecessor's all-down episode (health reload), so an episode under way is
     * neither announced twice nor lost from the gauge. Called before this publisher's first use.
     */
    void continueFrom(VerdictPublisher previous) {
        allDown = previous.allDown;
        allDownSinceMillis = previous.allDownSinceMillis;
        metrics.allDown(allDown);
    }

    void publish(Backend backend, Health to, CheckResult cause) {
        Health from = backend.health();
        metrics.transition(backend, to);
        if (to == Health.UP) {
            log.info("backend={} health {} -> UP check={} duration={}ms", backend.name(), from, cause.status(),
                    cause.duration().toMillis());
            pool.setHealth(backend, Health.UP, null);
        } else {
            boolean dead = cause.status().meansDead();
            Termination closeWith = dead && onDown == OnDown.CLOSE ? Termination.BACKEND_DOWN : null;
            String connections = closeWith != null ? "close"
                    : dead ? "keep (onDown: keep)" : "keep (answers, not ready)";
            log.warn("backend={} health {} -> DOWN check={} error=\"{}\" connections={}", backend.name(), from,
                    cause.status(), cause.error(), connections);
            pool.setHealth(backend, Health.DOWN, closeWith);
        }
        checkAllDown(backend, cause);
    }

    /** Re-evaluates the all-down episode, e.g. after backends were added or removed. */
    void checkAllDown() {
        checkAllDown(null, null);
    }

    private void checkAllDown(Backend last, CheckResult cause) {
        List<Backend> all = pool.all();
        boolean now = !all.isEmpty() && all.stream().allMatch(b -> b.health() == Health.DOWN);
        if (now == allDown) {
            return;
        }
        allDown = now;
        metrics.allDown(now);
        if (now) {
            allDownSinceMillis = System.currentTimeMillis();
            log.warn("every backend is DOWN (last: backend={} check={} error=\"{}\"); {}",
                    last != null ? last.name() : "-", cause != null ? cause.status() : "-",
                    cause != null ? cause.error() : "-",
                    failOpen ? "failing open: new connections go to every READY backend until a probe passes"
                             : "health.failOpen is false: new connections are refused");
        } else {
            log.info("all-down episode over after {}s: at least one backend is not DOWN",
                    (System.currentTimeMillis() - allDownSinceMillis) / 1000);
        }
    }
}
