package io.apilb.health;

import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.SimpleChannelInboundHandler;
import io.netty.handler.codec.http.HttpContent;
import io.netty.handler.codec.http.HttpObject;
import io.netty.handler.codec.http.HttpResponse;
import io.netty.handler.codec.http.LastHttpContent;

import java.nio.charset.StandardCharsets;

/**
 * Reads the probe's HTTP response: its status, and the beginning of its body, which for
 * kube-apiserver's {@code /readyz} names the failing check ({@code [-]shutdown failed}). Every
 * message is released on return. Tells the {@link ProbeAttempt} once the response is complete.
 *
 * <p>Runs on the prober's event loop.
 */
final class ProbeHttpHandler extends SimpleChannelInboundHandler<HttpObject> {
    /** Enough of a /readyz body to name the failing check, short enough for a dashboard cell. */
    static final int BODY_LIMIT = 200;

    private final ProbeAttempt attempt;
    private final StringBuilder body = new StringBuilder();
    private int status;

    ProbeHttpHandler(ProbeAttempt attempt) {
        this.attempt = attempt;
    }

    @Override
    protected void channelRead0(ChannelHandlerContext ctx, HttpObject msg) {
        if (msg.decoderResult().isFailure()) {
            attempt.malformed(msg.decoderResult().cause());
            return;
        }
        if (msg instanceof HttpResponse response) {
            status = response.status().code();
        }
        if (msg instanceof HttpContent content && body.length() < BODY_LIMIT) {
            int n = Math.min(content.content().readableBytes(), BODY_LIMIT - body.length());
            body.append(content.content().toString(content.content().readerIndex(), n, StandardCharsets.UTF_8));
        }
        if (msg instanceof LastHttpContent) {
            if (status == 0) {
                attempt.malformed(new IllegalStateException("body without a status line"));
            } else {
                attempt.responded(status, body.toString().strip().replaceAll("\\s+", " "));
            }
        }
    }
}
