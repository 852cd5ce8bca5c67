package io.apilb.app;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.spi.LoggingEvent;
import ch.qos.logback.core.UnsynchronizedAppenderBase;
import ch.qos.logback.core.encoder.Encoder;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * Writes log lines to stdout from one thread, in batches: callers (the event loops, for the access
 * log) only queue the event; the first line queued wakes the writer, which then gathers for
 * {@link #FLUSH_NANOS} (50 ms) and writes what is queued with one call. A line per connection
 * therefore costs no thread wake-up and no write of its own, where a classic async appender
 * signals its worker and writes once per line; and an idle balancer's writer does not wake at all.
 *
 * <p>WARN and ERROR lines, and a queue filling up, wake the writer at once. When the queue is full
 * the line is dropped and counted, and the writer reports the count as soon as it has room, so a
 * slow log reader never stalls traffic and never loses lines silently. {@link #stop()} writes out
 * everything queued before it returns.
 */
final class BatchingStdoutAppender extends UnsynchronizedAppenderBase<ILoggingEvent> {
    static final long FLUSH_NANOS = TimeUnit.MILLISECONDS.toNanos(50);
    private static final long STOP_WAIT_MILLIS = 2_000;

    private final Encoder<ILoggingEvent> encoder;
    private final ArrayBlockingQueue<ILoggingEvent> queue;
    private final int wakeAt;
    private final AtomicLong dropped = new AtomicLong();
    private final PrintStream out;
    private final long flushNanos;
    private volatile boolean stopping;
    /** A line that must not wait for the batch (WARN, a half-full or full queue) was queued. */
    private volatile boolean urgent;
    /** The writer is asleep (or about to be) until a line is queued. */
    private volatile boolean idle;
    private final AtomicLong wakeUps = new AtomicLong();
    private Thread writer;

    BatchingStdoutAppender(Encoder<ILoggingEvent> encoder, int capacity) {
        this(encoder, capacity, System.out, FLUSH_NANOS);
    }

    BatchingStdoutAppender(Encoder<ILoggingEvent> encoder, int capacity, PrintStream out, long flushNanos) {
        this.encoder = encoder;
        this.flushNanos = flushNanos;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.wakeAt = Math.max(1, capacity / 2);
        this.out = out;
    }

    @Override
    public void start() {
        if (isStarted()) {
            return;
        }
        stopping = false;
        writer = new Thread(this::writeLoop, "apilb-log-writer");
        writer.setDaemon(true);
        writer.start();
        super.start();
    }

    @Override
    protected void append(ILoggingEvent event) {
        // The message is formatted, and the thread name taken, here: arguments may change later.
        event.prepareForDeferredProcessing();
        // The plain format escapes each argument (PlainLineEncoder) when it writes: keep them as the
        // text they are now, so the writer thread never calls toString on a live object.
        Object[] args = event.getArgumentArray();
        if (args != null) {
            for (int i = 0; i < args.length; i++) {
                Object a = args[i];
                if (!(a instanceof String || a instanceof Long || a instanceof Integer || a instanceof Enum)) {
                    args[i] = String.valueOf(a);
                }
            }
        }
        if (!queue.offer(event)) {
            dropped.incrementAndGet();
            urgent = true;
            LockSupport.unpark(writer);
            return;
        }
        if (event.getLevel().isGreaterOrEqual(Level.WARN) || queue.size() >= wakeAt) {
            urgent = true;
            LockSupport.unpark(writer);
        } else if (idle) {
            // The writer sleeps without a deadline while nothing is queued: this line starts a
            // batch. (Only then: a wake-up while it gathers would cut the batch short.)
            LockSupport.unpark(writer);
        }
    }

    /** Stops taking lines, and returns once the queued ones are written (or after two seconds). */
    @Override
    public void stop() {
        if (!isStarted()) {
            return;
        }
        super.stop();
        stopping = true;
        LockSupport.unpark(writer);
        try {
            writer.join(STOP_WAIT_MILLIS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Lines dropped because the queue was full, since start. */
    long dropped() {
        return dropped.get();
    }

    /** How many times the writer woke up, since start. */
    long wakeUps() {
        return wakeUps.get();
    }

    private void writeLoop() {
        List<ILoggingEvent> batch = new ArrayList<>(256);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(64 * 1024);
        long reported = 0;
        while (true) {
            boolean last = stopping;
            if (!last) {
                idle = true; // before looking at the queue: a line queued after the look sees it
                if (queue.isEmpty() && dropped.get() == reported && !stopping) {
                    LockSupport.park(this); // until a line is queued (or stop)
                }
                idle = false;
                if (!urgent && !stopping) {
                    LockSupport.parkNanos(this, flushNanos); // the lines of the next 50 ms go in one write
                }
                urgent = false;
                wakeUps.incrementAndGet();
            }
            long lost = dropped.get();
            if (lost != reported) {
                encodeInto(droppedNotice(lost - reported), bytes);
                reported = lost;
            }
            queue.drainTo(batch);
            for (ILoggingEvent event : batch) {
                encodeInto(event, bytes);
            }
            batch.clear();
            if (bytes.size() > 0) {
                write(bytes, out);
                bytes.reset();
            }
            if (last && queue.isEmpty()) {
                return;
            }
        }
    }

    /** A WARN line in the configured format, so JSON readers see JSON. */
    private ILoggingEvent droppedNotice(long lines) {
        Logger self = ((LoggerContext) getContext()).getLogger(BatchingStdoutAppender.class);
        return new LoggingEvent(BatchingStdoutAppender.class.getName(), self, Level.WARN,
                "log queue full: {} line(s) dropped", null, new Object[] {lines});
    }

    private void encodeInto(ILoggingEvent event, ByteArrayOutputStream bytes) {
        try {
            bytes.writeBytes(encoder.encode(event));
        } catch (RuntimeException e) {
            addError("cannot encode a log line from " + event.getLoggerName(), e);
        }
    }

    private void write(ByteArrayOutputStream bytes, OutputStream to) {
        try {
            bytes.writeTo(to);
            to.flush();
        } catch (IOException e) {
            addError("cannot write the log to stdout", e);
        }
    }
}
