package io.apilb.app;

import io.apilb.core.config.LogFormat;
import io.apilb.core.config.LoggingConfig;
import io.apilb.core.proxy.AccessLog;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.encoder.Encoder;

import org.slf4j.LoggerFactory;

/**
 * Applies the {@code logging} section to logback: plain single lines ({@link PlainLineEncoder}) or
 * one JSON object per line ({@link JsonLineEncoder}) on stdout, the root level, and whether the
 * access log ({@link AccessLog#LOGGER}) is written. Called at start from the main thread and again
 * on each reload from whichever thread runs that reload; {@link ApilbRuntime} runs reloads one at a
 * time, so calls never overlap. The appender is flushed and stopped by
 * {@link #stop()} at exit, so the last lines are not lost.
 */
final class LogSetup {
    private static final int QUEUE = 16_384;

    private LogSetup() {
    }

    static void apply(LoggingConfig logging) {
        LoggerContext context = (LoggerContext) LoggerFactory.getILoggerFactory();
        Logger root = context.getLogger(org.slf4j.Logger.ROOT_LOGGER_NAME);
        root.setLevel(Level.toLevel(logging.level(), Level.INFO));
        context.getLogger(AccessLog.LOGGER).setLevel(logging.accessLog() ? Level.INFO : Level.OFF);
        // Netty's own INFO/DEBUG lines are about its internals, not about traffic.
        context.getLogger("io.netty").setLevel(Level.WARN);

        Encoder<ILoggingEvent> encoder =
                logging.format() == LogFormat.JSON ? new JsonLineEncoder() : new PlainLineEncoder();
        encoder.setContext(context);
        encoder.start();
        // Event loops write the access log, a line per connection: they only queue it, and one
        // thread writes stdout in batches, so a slow log reader never stalls traffic. When the
        // queue is full, lines are dropped and counted.
        BatchingStdoutAppender batching = new BatchingStdoutAppender(encoder, QUEUE);
        batching.setContext(context);
        batching.setName("stdout");
        batching.start();
        root.detachAndStopAllAppenders();
        root.addAppender(batching);
    }

    /** A started stdout appender writing through {@code encoder}. */
    static ConsoleAppender<ILoggingEvent> console(LoggerContext context, Encoder<ILoggingEvent> encoder) {
        encoder.setContext(context);
        encoder.start();
        ConsoleAppender<ILoggingEvent> console = new ConsoleAppender<>();
        console.setContext(context);
        console.setName("stdout");
        console.setEncoder(encoder);
        console.start();
        return console;
    }

    /** Writes out what is queued and stops the appenders; called last at exit. */
    static void stop() {
        ((LoggerContext) LoggerFactory.getILoggerFactory()).stop();
    }
}
