package io.apilb.admin;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * {@code POST /api/v1/reload}: 200 {@code {"status":"reloaded"}} when the new file was applied,
 * 400 with {@code "errors"} when it was refused (the old configuration stays), 500 with the reason
 * when the reloader threw, 501 when apilb runs without a config file. Runs on the change worker;
 * {@code afterApplied} (meters of new backends)
 * runs there too.
 */
final class ReloadApi {
    private static final Logger log = LoggerFactory.getLogger(ReloadApi.class);

    private final Reloader reloader;
    private final Runnable afterApplied;

    ReloadApi(Reloader reloader, Runnable afterApplied) {
        this.reloader = reloader;
        this.afterApplied = afterApplied;
    }

    void addTo(Router router) {
        router.addBlocking(HttpMethod.POST, "/api/v1/reload", this::reload);
    }

    private synchronized AdminResponse reload(AdminRequest request) throws Exception {
        if (reloader == null) {
            return AdminResponse.error(HttpResponseStatus.NOT_IMPLEMENTED,
                    "reload is not available: apilb runs without a config file");
        }
        Reloader.Result result;
        try {
            result = reloader.reload();
        } catch (Exception e) {
            // A reloader is to turn failures into errors; one that throws still gets its reason out.
            log.error("reload through the admin API failed", e);
            return AdminResponse.error(HttpResponseStatus.INTERNAL_SERVER_ERROR, "reload failed: " + e);
        }
        if (!result.ok()) {
            log.warn("reload refused through the admin API: {}", result.errors());
            Map<String, Object> body = new LinkedHashMap<>();
            body.put("error", "reload refused: the running configuration is unchanged");
            body.put("errors", result.errors());
            return AdminResponse.json(HttpResponseStatus.BAD_REQUEST, body);
        }
        afterApplied.run();
        log.info("configuration reloaded through the admin API");
        return AdminResponse.ok(Map.of("status", "reloaded"));
    }
}
