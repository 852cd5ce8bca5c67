package io.apilb.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.encoder.PatternLayoutEncoder;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.classic.util.LogbackMDCAdapter;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BatchingStdoutAppenderTest {
    private static final long NEVER_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final LoggerContext context = new LoggerContext();
    private final Logger logger = context.getLogger("test");
    private final Sink sink = new Sink();
    private BatchingStdoutAppender appender;

    @BeforeEach
    void setUp() {
        context.setMDCAdapter(new LogbackMDCAdapter());
        logger.setAdditive(false);
    }

    @AfterEach
    void tearDown() {
        if (appender != null) {
            appender.stop();
        }
        sink.release.countDown();
    }

    private BatchingStdoutAppender start(int capacity, long flushNanos) {
        PatternLayoutEncoder encoder = new PatternLayoutEncoder();
        encoder.setPattern("%level %msg%n");
        encoder.setContext(context);
        encoder.start();
        appender = new BatchingStdoutAppender(encoder, capacity, new PrintStream(sink, false, StandardCharsets.UTF_8),
                flushNanos);
        appender.setContext(context);
        appender.start();
        return appender;
    }

    private void log(Level level, String message) {
        appender.doAppend(new LoggingEvent(Logger.FQCN, logger, level, message, null, null));
    }

    @Test
    void writesQueuedLinesInBatchesAndEverythingBeforeStopReturns() throws Exception {
        start(4096, TimeUnit.MILLISECONDS.toNanos(20));
        for (int i = 0; i < 2000; i++) {
            log(Level.INFO, "line " + i);
        }
        appender.stop();

        List<String> lines = sink.lines();
        assertEquals(2000, lines.size());
        for (int i = 0; i < 2000; i++) {
            assertEquals("INFO line " + i, lines.get(i));
        }
        // One write per batch, not per line.
        assertTrue(sink.writes.get() < 100, sink.writes.get() + " writes for 2000 lines");
    }

    @Test
    void infoWaitsForTheBatchButWarnIsWrittenAtOnce() throws Exception {
        start(4096, NEVER_NANOS);
        log(Level.WARN, "started");
        awaitText("started");
        Thread.sleep(100); // the writer goes back to sleep

        log(Level.INFO, "routine");
        Thread.sleep(200);
        assertEquals(List.of("WARN started"), sink.lines());

        log(Level.WARN, "backend down");
        awaitText("backend down");
        assertEquals(List.of("WARN started", "INFO routine", "WARN backend down"), sink.lines());
    }

    @Test
    void anIdleWriterSleepsUntilALineIsQueuedThenWritesItWithinTheBatchTime() throws Exception {
        start(4096, TimeUnit.MILLISECONDS.toNanos(5));
        log(Level.INFO, "first");
        awaitText("first");
        // Counted before the batch is written, so the count is final once the line is out.
        long before = appender.wakeUps();
        Thread.sleep(300); // sixty batch times with nothing to write
        assertEquals(before, appender.wakeUps(), "wake-ups with nothing queued");

        long queuedAt = System.nanoTime();
        log(Level.INFO, "second");
        awaitText("second");
        assertTrue(System.nanoTime() - queuedAt < TimeUnit.SECONDS.toNanos(2), "written once queued");
        assertEquals(List.of("INFO first", "INFO second"), sink.lines());
    }

    private void awaitText(String text) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(5);
        while (!sink.text().contains(text) && System.nanoTime() < deadline) {
            Thread.sleep(5);
        }
    }

    @Test
    void aFullQueueDropsAndCountsLinesAndSaysSoOnceThereIsRoom() throws Exception {
        start(8, TimeUnit.MILLISECONDS.toNanos(5));
        sink.blocking = true;
        log(Level.WARN, "first");
        assertTrue(sink.entered.await(5, TimeUnit.SECONDS));
        // The writer is stuck writing "first": 8 more fit in the queue, the rest are dropped.
        for (int i = 0; i < 20; i++) {
            log(Level.INFO, "burst " + i);
        }
        assertEquals(12, appender.dropped());
        sink.release.countDown();
        appender.stop();

        List<String> lines = sink.lines();
        assertTrue(lines.contains("WARN log queue full: 12 line(s) dropped"), lines.toString());
        assertEquals(8, lines.stream().filter(l -> l.startsWith("INFO burst")).count());
    }

    /** Records what is written and how many write calls carried it; can block the writer once. */
    private static final class Sink extends OutputStream {
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        final AtomicInteger writes = new AtomicInteger();
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        volatile boolean blocking;

        @Override
        public void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            writes.incrementAndGet();
            synchronized (bytes) {
                bytes.write(b, off, len);
            }
            if (blocking) {
                blocking = false;
                entered.countDown();
                try {
                    release.await(10, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        String text() {
            synchronized (bytes) {
                return bytes.toString(StandardCharsets.UTF_8);
            }
        }

        List<String> lines() {
            String t = text();
            return t.isEmpty() ? new ArrayList<>() : new ArrayList<>(List.of(t.split("\n")));
        }
    }
}
