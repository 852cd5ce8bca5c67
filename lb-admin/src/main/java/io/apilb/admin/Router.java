package io.apilb.admin;

import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.QueryStringDecoder;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * The routing table: (method, path pattern) to handler. A pattern is a path whose segments are
 * literals or {@code {name}} placeholders matching one non-empty segment. A path that matches a
 * pattern under another method gets 405 with {@code Allow}; a path that matches nothing gets 404.
 * {@code HEAD} is served by the {@code GET} route.
 *
 * <p>Built once before the server starts, then read-only: safe to use from any thread.
 */
final class Router {
    private final List<Route> routes = new ArrayList<>();

    /** A route of the table. {@code blocking} routes run off the event loop. */
    record Route(HttpMethod method, String pattern, String[] segments, RouteHandler handler, boolean blocking) {
    }

    /** The outcome of routing: a route with its path parameters, or a ready error answer. */
    record Match(Route route, Map<String, String> params, AdminResponse error) {
    }

    Router add(HttpMethod method, String pattern, RouteHandler handler) {
        return add(method, pattern, handler, false);
    }

    /** Adds a route whose handler may block; it runs on an admin worker (see {@link RouteHandler}). */
    Router addBlocking(HttpMethod method, String pattern, RouteHandler handler) {
        return add(method, pattern, handler, true);
    }

    private Router add(HttpMethod method, String pattern, RouteHandler handler, boolean blocking) {
        Objects.requireNonNull(method, "method");
        Objects.requireNonNull(handler, "handler");
        if (!pattern.startsWith("/")) {
            throw new IllegalArgumentException("pattern: " + pattern + " (expected: starts with /)");
        }
        routes.add(new Route(method, pattern, split(pattern), handler, blocking));
        return this;
    }

    Match route(HttpMethod method, String path) {
        HttpMethod wanted = HttpMethod.HEAD.equals(method) ? HttpMethod.GET : method;
        String[] segments = split(path);
        Set<String> allowed = new LinkedHashSet<>();
        for (Route r : routes) {
            Map<String, String> params = match(r.segments(), segments);
            if (params == null) {
                continue;
            }
            if (r.method().equals(wanted)) {
                return new Match(r, params, null);
            }
            allowed.add(r.method().name());
            if (r.method().equals(HttpMethod.GET)) {
                allowed.add(HttpMethod.HEAD.name());
            }
        }
        if (allowed.isEmpty()) {
            return new Match(null, Map.of(), AdminResponse.error(HttpResponseStatus.NOT_FOUND, "no such resource: " + path));
        }
        String allow = String.join(", ", allowed);
        return new Match(null, Map.of(), AdminResponse.error(HttpResponseStatus.METHOD_NOT_ALLOWED,
                        "method " + method.name() + " not allowed on " + path + " (expected: " + allow + ")")
                .withHeader("Allow", allow));
    }

    private static Map<String, String> match(String[] pattern, String[] path) {
        if (pattern.length != path.length) {
            return null;
        }
        Map<String, String> params = new HashMap<>();
        for (int i = 0; i < pattern.length; i++) {
            String p = pattern[i];
            if (p.length() > 2 && p.charAt(0) == '{' && p.charAt(p.length() - 1) == '}') {
                if (path[i].isEmpty()) {
                    return null;
                }
                // A '+' in a path is a plus, not a form-encoded space.
                params.put(p.substring(1, p.length() - 1),
                        QueryStringDecoder.decodeComponent(path[i].replace("+", "%2B")));
            } else if (!p.equals(path[i])) {
                return null;
            }
        }
        return params;
    }

    // "/" is one empty segment and "/a/" has a trailing empty one, so neither matches "/a".
    private static String[] split(String path) {
        return path.substring(1).split("/", -1);
    }
}
