package io.apilb.core.proxy;

import io.apilb.core.config.Cidr;
import io.apilb.core.config.Limits;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Expiry;
import com.github.benmanes.caffeine.cache.Ticker;
import io.netty.util.NetUtil;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.atomic.AtomicLong;

/**
 * {@code limits.perSource}: open connections and new connections per second for each client
 * address (an IPv6 client counts as its /64), in a Caffeine table that outlives reloads. A reload
 * swaps the limits ({@link #configure}); new connections meet the new limits, counts carry on.
 *
 * <p>The table is bounded: at most {@value #MAX_IDLE_SOURCES} addresses without open connections
 * (least valuable evicted first), each forgotten after {@link #IDLE} without a new connection. An
 * address with open connections is pinned (weight 0, no expiry) until its last one closes, so
 * eviction can never reset a count that live connections still hold; their number is bounded by
 * {@code limits.maxConnections}.
 *
 * <p>Thread-safe without locks of its own: each change is one {@code compute} on Caffeine's map,
 * which serialises changes to one address; entries are immutable, so readers see whole ones.
 * Called from the proxy event loops; {@link #busiest} from the admin thread.
 */
public final class SourceLimiter {
    private static final Logger log = LoggerFactory.getLogger(SourceLimiter.class);
    /** Addresses without open connections kept, for their rate and their rejections. */
    public static final int MAX_IDLE_SOURCES = 65_536;
    /** An address with no open connection and no new one for this long is forgotten. */
    static final Duration IDLE = Duration.ofMinutes(10);
    /** At most one warning about refused sources this often: a flood must not flood the log too. */
    static final Duration WARN_EVERY = Duration.ofSeconds(10);
    private static final long NANOS_PER_SECOND = 1_000_000_000L;
    private static final Duration PINNED = Duration.ofNanos(Long.MAX_VALUE);

    /** What one connection attempt got: the table key to release, or the reason it was refused. */
    record Admission(InetAddress key, RejectReason refused) {
        static final Admission EXEMPT = new Admission(null, null);
    }

    /** One address's state; replaced, never changed, so the admin thread reads it whole. */
    private record Source(int open, long rejected, double tokens, long refilledAt) {
    }

    /** One row of {@link #busiest}: an address (IPv6 as its /64), its open and refused connections. */
    public record Usage(String source, int openConnections, long rejectedConnections) {
    }

    private final Ticker ticker;
    private final Cache<InetAddress, Source> table;
    private final AtomicLong nextWarning;
    private final AtomicLong unwarned = new AtomicLong();
    private volatile Limits.PerSource limits = Limits.PerSource.DEFAULTS;

    public SourceLimiter() {
        this(Ticker.systemTicker(), MAX_IDLE_SOURCES);
    }

    SourceLimiter(Ticker ticker, int maxIdleSources) {
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.nextWarning = new AtomicLong(ticker.read());
        this.table = Caffeine.newBuilder()
                .ticker(ticker)
                // Upkeep runs on the loop that changed the table: a few entries per change, and no
                // hand-off to the common pool, which the rest of the process may be using.
                .executor(Runnable::run)
                .maximumWeight(maxIdleSources)
                .weigher((InetAddress k, Source s) -> s.open() > 0 ? 0 : 1)
                .expireAfter(Expiry.writing((InetAddress k, Source s) -> s.open() > 0 ? PINNED : IDLE))
                .build();
    }

    /** New connections from now on meet these limits; open ones stay counted. */
    public void configure(Limits.PerSource next) {
        limits = Objects.requireNonNull(next, "next");
    }

    /**
     * The table key of a client: the address, or for IPv6 its /64. An IPv4-mapped IPv6 address is
     * its IPv4 address, so a dual-stack listener counts an IPv4 client once. A link-local IPv6
     * client is its own address: every host on a link shares fe80::/64.
     */
    static InetAddress keyOf(InetAddress client) {
        InetAddress a = Cidr.unmapped(client);
        if (!(a instanceof Inet6Address)) {
            return a;
        }
        return Cidr.masked(a.getAddress(), a.isLinkLocalAddress() ? 128 : 64);
    }

    /**
     * Takes a slot for a new connection from {@code client}, or says which limit refuses it (then
     * counts the refusal and maybe warns). A connection admitted with a key must be {@link #release}d.
     */
    Admission admit(InetAddress client) {
        Limits.PerSource l = limits;
        if (l.allows(client)) {
            return Admission.EXEMPT;
        }
        InetAddress key = keyOf(client);
        long now = ticker.read();
        RejectReason[] refused = new RejectReason[1];
        table.asMap().compute(key, (k, s) -> {
            Source cur = s == null ? new Source(0, 0, l.rate(), now) : s;
            double tokens = Math.min(l.rate(),
                    cur.tokens() + (double) (now - cur.refilledAt()) * l.rate() / NANOS_PER_SECOND);
            if (cur.open() >= l.maxConnections()) {
                refused[0] = RejectReason.PER_SOURCE_CONNECTIONS;
            } else if (l.rate() > 0 && tokens < 1) {
                refused[0] = RejectReason.PER_SOURCE_RATE;
            } else {
                return new Source(cur.open() + 1, cur.rejected(), l.rate() > 0 ? tokens - 1 : tokens, now);
            }
            return new Source(cur.open(), cur.rejected() + 1, tokens, now);
        });
        if (refused[0] == null) {
            return new Admission(key, null);
        }
        warn(key, refused[0], l, now);
        return new Admission(key, refused[0]);
    }

    /** Gives back the slot of a connection {@link #admit} let in under {@code key}. */
    void release(InetAddress key) {
        table.asMap().computeIfPresent(key, (k, s) -> new Source(s.open() - 1, s.rejected(), s.tokens(),
                s.refilledAt()));
    }

    private void warn(InetAddress key, RejectReason reason, Limits.PerSource l, long now) {
        long due = nextWarning.get();
        if (now - due < 0 || !nextWarning.compareAndSet(due, now + WARN_EVERY.toNanos())) {
            unwarned.incrementAndGet();
            return;
        }
        String limit = reason == RejectReason.PER_SOURCE_RATE
                ? "limits.perSource.rate " + l.rate() + "/s"
                : "limits.perSource.maxConnections " + l.maxConnections();
        log.warn("client={} over {}: closing its new connections ({}; {} more refused since the last warning)",
                display(key), limit, reason.tag(), unwarned.getAndSet(0));
    }

    /**
     * The {@code n} addresses with the most open connections, then the most refused ones; addresses
     * with neither are left out. Walks the whole table: for the admin API, not the data path.
     */
    public List<Usage> busiest(int n) {
        Comparator<Usage> order = Comparator.comparingInt(Usage::openConnections)
                .thenComparingLong(Usage::rejectedConnections);
        PriorityQueue<Usage> top = new PriorityQueue<>(order);
        table.asMap().forEach((k, s) -> {
            if (s.open() > 0 || s.rejected() > 0) {
                top.add(new Usage(display(k), s.open(), s.rejected()));
                if (top.size() > n) {
                    top.poll();
                }
            }
        });
        List<Usage> out = new ArrayList<>(top);
        out.sort(order.reversed());
        return out;
    }

    /** Addresses in the table now, after every pending eviction and expiry (for tests). */
    long size() {
        long before;
        do {
            // Caffeine expires a bounded batch per upkeep run, so repeat until nothing more goes.
            before = table.estimatedSize();
            table.cleanUp();
        } while (table.estimatedSize() < before);
        return table.estimatedSize();
    }

    private static String display(InetAddress key) {
        String a = NetUtil.toAddressString(key);
        return key instanceof Inet6Address && !key.isLinkLocalAddress() ? a + "/64" : a;
    }
}
