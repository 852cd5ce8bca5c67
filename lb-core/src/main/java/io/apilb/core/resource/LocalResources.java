package io.apilb.core.resource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.EnumMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.LongSupplier;

/**
 * Counts apilb's own shortages ({@link LocalResourceError}) wherever a socket could not be made,
 * and says in a WARN what to raise: at most one line per kind every {@value #WARN_INTERVAL_SECONDS}
 * seconds, with the count of those not logged, because a shortage repeats on every dial and accept
 * until it is over. File descriptors and ports belong to the process and the host, so there is one
 * instance per process, {@link #process()}; {@link LocalResourceMetrics} exposes its counts.
 *
 * <p>Thread-safe and lock-free: called from proxy event loops, the prober and the listeners.
 */
public final class LocalResources {
    static final long WARN_INTERVAL_SECONDS = 10;
    private static final Logger log = LoggerFactory.getLogger(LocalResources.class);
    private static final LocalResources PROCESS = new LocalResources(System::nanoTime);

    private final LongSupplier nanoClock;
    private final Map<LocalResourceError, LongAdder> counts = new EnumMap<>(LocalResourceError.class);
    private final Map<LocalResourceError, AtomicLong> nextWarn = new EnumMap<>(LocalResourceError.class);
    private final Map<LocalResourceError, AtomicLong> unlogged = new EnumMap<>(LocalResourceError.class);

    LocalResources(LongSupplier nanoClock) {
        this.nanoClock = nanoClock;
        long now = nanoClock.getAsLong();
        for (LocalResourceError e : LocalResourceError.values()) {
            counts.put(e, new LongAdder());
            nextWarn.put(e, new AtomicLong(now));
            unlogged.put(e, new AtomicLong());
        }
    }

    /** The process's counters. */
    public static LocalResources process() {
        return PROCESS;
    }

    /**
     * Counts {@code cause} when it is a local shortage, and logs it (rate-limited).
     *
     * @param where what was being done, for the log: {@code dial backend=m1}, {@code accept listener=api}
     * @return the kind, or null when {@code cause} is not a local shortage (nothing counted)
     */
    public LocalResourceError record(Throwable cause, String where) {
        LocalResourceError kind = LocalResourceError.of(cause);
        if (kind != null) {
            record(kind, where);
        }
        return kind;
    }

    /** Counts one shortage of {@code kind} and logs it (rate-limited). */
    public void record(LocalResourceError kind, String where) {
        counts.get(kind).increment();
        long now = nanoClock.getAsLong();
        AtomicLong next = nextWarn.get(kind);
        long due = next.get();
        if (now - due < 0 || !next.compareAndSet(due, now + TimeUnit.SECONDS.toNanos(WARN_INTERVAL_SECONDS))) {
            unlogged.get(kind).incrementAndGet();
            return;
        }
        long skipped = unlogged.get(kind).getAndSet(0);
        log.warn("local resource exhausted: {} ({}) on {}; {} (not a backend failure; {} since start{})",
                kind.text(), kind.tag(), where, kind.remedy(), count(kind),
                skipped > 0 ? ", " + skipped + " not logged in the last " + WARN_INTERVAL_SECONDS + "s" : "");
    }

    /** Shortages of {@code kind} counted since start. */
    public long count(LocalResourceError kind) {
        return counts.get(kind).sum();
    }

    /** Shortages of every kind counted since start. */
    public long total() {
        long n = 0;
        for (LongAdder a : counts.values()) {
            n += a.sum();
        }
        return n;
    }
}
