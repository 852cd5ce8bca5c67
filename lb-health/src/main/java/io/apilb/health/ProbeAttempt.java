package io.apilb.health;

import io.apilb.core.config.HealthMode;
import io.apilb.core.resource.LocalResourceError;
import io.apilb.core.resource.LocalResources;

import io.netty.channel.Channel;
import io.netty.channel.ChannelFuture;
import io.netty.channel.ChannelFutureListener;
import io.netty.channel.ChannelHandlerContext;
import io.netty.channel.ChannelInboundHandlerAdapter;
import io.netty.channel.ConnectTimeoutException;
import io.netty.channel.EventLoop;
import io.netty.handler.codec.http.DefaultFullHttpRequest;
import io.netty.handler.codec.http.FullHttpRequest;
import io.netty.handler.codec.http.HttpHeaderNames;
import io.netty.handler.codec.http.HttpHeaderValues;
import io.netty.handler.codec.http.HttpMethod;
import io.netty.handler.codec.http.HttpVersion;
import io.netty.handler.ssl.SslHandshakeCompletionEvent;
import io.netty.util.concurrent.ScheduledFuture;

import java.net.ConnectException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

import javax.net.ssl.SSLException;

/**
 * One probe in flight: tracks how far it got (connect, TLS, HTTP), owns the hard timeout, and turns
 * whatever ends it first into exactly one {@link CheckResult}, after which the connection is closed.
 * The last handler of the probe's pipeline.
 *
 * <p>Confined to the prober's event loop.
 */
final class ProbeAttempt extends ChannelInboundHandlerAdapter {
    private enum Phase { CONNECT, TLS, HTTP }

    private final ProbeSettings settings;
    private final String hostHeader;
    private final String userAgent;
    private final Consumer<CheckResult> onResult;
    private final long startNanos = System.nanoTime();
    private final ScheduledFuture<?> timer;
    private Phase phase = Phase.CONNECT;
    private Channel channel;
    private boolean done;

    /** Arms the hard timeout at once, so it covers building the TLS engine and resolving the name too. */
    ProbeAttempt(ProbeSettings settings, String hostHeader, String userAgent, EventLoop loop,
                 Consumer<CheckResult> onResult) {
        this.settings = settings;
        this.hostHeader = hostHeader;
        this.userAgent = userAgent;
        this.onResult = onResult;
        this.timer = loop.schedule(this::timedOut, settings.timeoutMillis(), TimeUnit.MILLISECONDS);
    }

    /** Called once the connect is under way, on the same event loop. */
    void started(ChannelFuture connect) {
        if (connect.isDone() && !connect.isSuccess() && !connect.channel().isRegistered()) {
            // No socket could be made (out of descriptors, say): Netty hands back a channel that was
            // never registered, with nothing to close, and a future that would notify on another thread.
            if (!done) {
                connectFailed(connect.cause());
            }
            return;
        }
        channel = connect.channel();
        if (done) {
            // Ended before the connect was even issued: only the socket is left to close.
            channel.close();
            return;
        }
        connect.addListener((ChannelFutureListener) f -> {
            if (!f.isSuccess()) {
                connectFailed(f.cause());
            } else if (settings.mode() == HealthMode.TCP) {
                finish(CheckStatus.L4OK, 0, null);
            } else {
                phase = Phase.TLS;
            }
        });
    }

    /** Ends the probe without a result (the session stopped): cancels the timer, closes the connection. */
    void abandon() {
        if (done) {
            return;
        }
        done = true;
        timer.cancel(false);
        if (channel != null) {
            channel.close();
        }
    }

    @Override
    public void userEventTriggered(ChannelHandlerContext ctx, Object evt) {
        if (evt instanceof SslHandshakeCompletionEvent e) {
            if (!e.isSuccess()) {
                finish(CheckStatus.L6RSP, 0, "TLS handshake failed: " + describe(e.cause()));
            } else if (settings.mode() == HealthMode.TLS) {
                finish(CheckStatus.L6OK, 0, null);
            } else {
                phase = Phase.HTTP;
                ctx.writeAndFlush(request()).addListener((ChannelFutureListener) f -> {
                    if (!f.isSuccess()) {
                        failed(f.cause());
                    }
                });
            }
            return;
        }
        ctx.fireUserEventTriggered(evt);
    }

    @Override
    public void exceptionCaught(ChannelHandlerContext ctx, Throwable cause) {
        failed(cause);
    }

    @Override
    public void channelInactive(ChannelHandlerContext ctx) {
        switch (phase) {
            case CONNECT -> finish(CheckStatus.L4CON, 0, "connection closed while connecting");
            case TLS -> finish(CheckStatus.L6RSP, 0, "connection closed during the TLS handshake");
            case HTTP -> finish(CheckStatus.L7RSP, 0, "connection closed before a complete HTTP response");
        }
    }

    /** A complete HTTP response arrived; {@code body} is its beginning, for the error text. */
    void responded(int status, String body) {
        if (settings.expectStatus().contains(status)) {
            finish(CheckStatus.L7OK, status, null);
        } else {
            finish(CheckStatus.L7STS, status, body.isEmpty() ? "HTTP " + status : "HTTP " + status + ": " + body);
        }
    }

    /** The response could not be parsed. */
    void malformed(Throwable cause) {
        finish(CheckStatus.L7RSP, 0, "malformed HTTP response: " + describe(cause));
    }

    private FullHttpRequest request() {
        FullHttpRequest req = new DefaultFullHttpRequest(HttpVersion.HTTP_1_1, HttpMethod.GET, settings.path());
        req.headers().set(HttpHeaderNames.HOST, hostHeader)
                .set(HttpHeaderNames.USER_AGENT, userAgent)
                .set(HttpHeaderNames.ACCEPT, "*/*")
                .set(HttpHeaderNames.CONNECTION, HttpHeaderValues.CLOSE);
        return req;
    }

    private void connectFailed(Throwable cause) {
        if (local(cause)) {
            return;
        }
        if (cause instanceof ConnectTimeoutException) {
            timedOut();
        } else if (cause instanceof UnknownHostException) {
            finish(CheckStatus.L4CON, 0, "unknown host: " + describe(cause));
        } else {
            finish(CheckStatus.L4CON, 0, "connect failed: " + describe(cause));
        }
    }

    private void failed(Throwable cause) {
        // A TLS alert can arrive after the client considers the handshake done (TLS 1.3 sends the
        // client certificate last), so it is a TLS failure whatever the phase.
        if (sslCause(cause) != null) {
            finish(CheckStatus.L6RSP, 0, "TLS failed: " + describe(cause));
            return;
        }
        if (local(cause)) {
            return;
        }
        switch (phase) {
            case CONNECT -> finish(CheckStatus.L4CON, 0, "connect failed: " + describe(cause));
            case TLS -> finish(CheckStatus.L6RSP, 0, "TLS handshake failed: " + describe(cause));
            case HTTP -> finish(CheckStatus.L7RSP, 0, "HTTP exchange failed: " + describe(cause));
        }
    }

    /** Ends the probe as {@link CheckStatus#L4RES} when apilb itself ran short; counted as local. */
    private boolean local(Throwable cause) {
        LocalResourceError kind = LocalResources.process().record(cause, "probe " + hostHeader);
        if (kind == null) {
            return false;
        }
        finish(CheckStatus.L4RES, 0, "local resource exhausted (" + kind.tag() + "): " + describe(cause));
        return true;
    }

    private void timedOut() {
        long ms = settings.timeoutMillis();
        switch (phase) {
            case CONNECT -> finish(CheckStatus.L4TOUT, 0, "connect timed out after " + ms + "ms");
            case TLS -> finish(CheckStatus.L6TOUT, 0, "TLS handshake timed out after " + ms + "ms");
            case HTTP -> finish(CheckStatus.L7TOUT, 0, "no complete HTTP response after " + ms + "ms");
        }
    }

    private void finish(CheckStatus status, int httpStatus, String error) {
        if (done) {
            return;
        }
        abandon();
        onResult.accept(new CheckResult(status, Duration.ofNanos(System.nanoTime() - startNanos), Instant.now(),
                httpStatus, error));
    }

    private static SSLException sslCause(Throwable t) {
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c instanceof SSLException ssl) {
                return ssl;
            }
        }
        return null;
    }

    /** The most specific message in the cause chain: that is where TLS stacks put the real reason. */
    static String describe(Throwable t) {
        if (t == null) {
            return "unknown error";
        }
        String message = null;
        for (Throwable c = t; c != null; c = c.getCause()) {
            if (c.getMessage() != null && !c.getMessage().isBlank()) {
                message = c.getMessage();
            }
        }
        if (message == null) {
            return t.getClass().getSimpleName();
        }
        return t instanceof ConnectException || message.length() <= 300 ? message : message.substring(0, 300) + "...";
    }
}
