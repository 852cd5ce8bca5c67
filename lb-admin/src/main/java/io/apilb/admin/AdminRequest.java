package io.apilb.admin;

import io.netty.handler.codec.http.HttpHeaders;
import io.netty.handler.codec.http.HttpMethod;

import java.util.Map;

/**
 * One admin HTTP request, detached from Netty buffers so that a handler may run on any thread.
 *
 * @param method     the request method ({@code HEAD} is routed as {@code GET})
 * @param path       the raw path, without the query
 * @param headers    the request headers
 * @param body       the whole body (at most the server's body limit), empty when none
 * @param pathParams values of the route's {@code {name}} segments, percent-decoded
 */
record AdminRequest(HttpMethod method, String path, HttpHeaders headers, byte[] body, Map<String, String> pathParams) {

    AdminRequest withPathParams(Map<String, String> params) {
        return new AdminRequest(method, path, headers, body, Map.copyOf(params));
    }

    String pathParam(String name) {
        return pathParams.get(name);
    }
}
