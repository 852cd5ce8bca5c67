package io.apilb.admin;

import io.netty.buffer.Unpooled;
import io.netty.handler.codec.http.DefaultFullHttpResponse;
import io.netty.handler.codec.http.FullHttpResponse;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpResponseStatus;
import io.netty.handler.codec.http.HttpUtil;
import io.netty.handler.codec.http.HttpVersion;

import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * What a route answers: status, content type, body and extra headers. Immutable; turned into a
 * Netty response only on the channel's event loop.
 */
record AdminResponse(HttpResponseStatus status, String contentType, byte[] body, Map<String, String> headers) {
    static final String JSON = "application/json";

    AdminResponse {
        headers = Map.copyOf(headers);
    }

    static AdminResponse json(HttpResponseStatus status, Object value) {
        return new AdminResponse(status, JSON, Json.bytes(value), Map.of());
    }

    static AdminResponse ok(Object value) {
        return json(HttpResponseStatus.OK, value);
    }

    /** The one error shape of the API: {@code {"error":"..."}}. */
    static AdminResponse error(HttpResponseStatus status, String message) {
        return json(status, Map.of("error", message));
    }

    static AdminResponse of(HttpResponseStatus status, String contentType, String body) {
        return new AdminResponse(status, contentType, body.getBytes(StandardCharsets.UTF_8), Map.of());
    }

    AdminResponse withHeader(String name, String value) {
        Map<String, String> h = new LinkedHashMap<>(headers);
        h.put(name, value);
        return new AdminResponse(status, contentType, body, h);
    }

    /**
     * A Netty response; the body is left out for {@code HEAD}, the length is kept.
     * Every answer is dynamic or may carry credentials-protected data, so nothing is cached.
     */
    FullHttpResponse toNetty(boolean keepAlive, boolean head) {
        FullHttpResponse res = new DefaultFullHttpResponse(HttpVersion.HTTP_1_1, status,
                head ? Unpooled.EMPTY_BUFFER : Unpooled.wrappedBuffer(body));
        res.headers().set(HttpHeaderNames.CONTENT_TYPE, contentType);
        res.headers().set(HttpHeaderNames.CONTENT_LENGTH, body.length);
        res.headers().set(HttpHeaderNames.CACHE_CONTROL, "no-store");
        res.headers().set("X-Content-Type-Options", "nosniff");
        headers.forEach((k, v) -> res.headers().set(k, v));
        HttpUtil.setKeepAlive(res, keepAlive);
        return res;
    }
}
