package io.apilb.core.proxy;

import io.netty.channel.EventLoop;
import io.netty.util.concurrent.Ticker;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

/**
 * Closes a connection that has been quiet too long. Reads on either leg {@linkplain #touch() stamp}
 * the time; one scheduled task per connection checks the stamp and re-arms for the remainder, which
 * is cheaper than an idle handler in the pipeline (that also hooks every write).
 *
 * <p>Uses the event loop's {@link Ticker}, so tests can drive it in virtual time. Confined to the
 * connection's event loop.
 */
final class ActivityTimer {
    private final EventLoop loop;
    private final Ticker ticker;
    private long lastActivity;
    private ScheduledFuture<?> task;
    private boolean cancelled;

    ActivityTimer(EventLoop loop) {
        this.loop = loop;
        this.ticker = loop.ticker();
        this.lastActivity = ticker.nanoTime();
    }

    /** Records activity now. */
    void touch() {
        lastActivity = ticker.nanoTime();
    }

    /**
     * Runs {@code onQuiet} once nothing has happened for {@code quietMillis} since the last
     * {@link #touch()}; replaces any earlier arming. Does nothing when {@code quietMillis <= 0}.
     */
    void arm(long quietMillis, Runnable onQuiet) {
        cancel();
        cancelled = false;
        if (quietMillis <= 0) {
            return;
        }
        schedule(TimeUnit.MILLISECONDS.toNanos(quietMillis), onQuiet);
    }

    private void schedule(long quietNanos, Runnable onQuiet) {
        long left = quietNanos - (ticker.nanoTime() - lastActivity);
        task = loop.schedule(() -> {
            if (cancelled) {
                return;
            }
            if (ticker.nanoTime() - lastActivity >= quietNanos) {
                onQuiet.run();
            } else {
                schedule(quietNanos, onQuiet);
            }
        }, Math.max(left, 1), TimeUnit.NANOSECONDS);
    }

    /** Stops the timer; it may be armed again. */
    void cancel() {
        cancelled = true;
        if (task != null) {
            task.cancel(false);
            task = null;
        }
    }
}
