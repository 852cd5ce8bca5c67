package io.apilb.admin;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;

/**
 * {@code GET /}: the dashboard, one self-contained HTML page (inline CSS and script, no external
 * resource) read once from the classpath. The page polls the JSON API every second. Its
 * Content-Security-Policy allows nothing but this origin, so the page works offline and a
 * compromised page could not talk to anything else; framing is refused so that its buttons cannot
 * be clickjacked. Served from memory on the event loop.
 */
final class DashboardPage {
    static final String RESOURCE = "dashboard.html";
    private static final String CSP = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline';"
            + " connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none';"
            + " frame-ancestors 'none'";

    private final AdminResponse page;

    DashboardPage() {
        try (InputStream in = DashboardPage.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("dashboard resource missing from the classpath: " + RESOURCE);
            }
            page = new AdminResponse(HttpResponseStatus.OK, "text/html; charset=utf-8", in.readAllBytes(),
                    Map.of("Content-Security-Policy", CSP, "X-Frame-Options", "DENY", "Referrer-Policy", "no-referrer"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the dashboard page", e);
        }
    }

    void addTo(Router router) {
        router.add(HttpMethod.GET, "/", request -> page);
    }
}
