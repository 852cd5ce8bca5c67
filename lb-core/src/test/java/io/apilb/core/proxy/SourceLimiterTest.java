package io.apilb.core.proxy;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import io.apilb.core.config.Cidr;
import io.apilb.core.config.Limits;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import com.github.benmanes.caffeine.cache.Ticker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.slf4j.LoggerFactory;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/** The per-source table in virtual time: limits, their recovery, exemption and the table's bound. */
class SourceLimiterTest {
    private final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    private final Ticker clock = nanos::get;

    private void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }

    private static InetAddress ip(String literal) {
        try {
            // A literal: no name lookup happens.
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    private SourceLimiter limiter(int maxConnections, int rate, String... allow) {
        SourceLimiter l = new SourceLimiter(clock, 1000);
        l.configure(new Limits.PerSource(maxConnections, rate, Stream.of(allow).map(Cidr::parse).toList()));
        return l;
    }

    @Test
    void refusesAnAddressOverItsConnectionsWhileAnotherIsServed() {
        SourceLimiter l = limiter(2, 0);
        assertNull(l.admit(ip("10.0.0.1")).refused());
        assertNull(l.admit(ip("10.0.0.1")).refused());
        assertEquals(RejectReason.PER_SOURCE_CONNECTIONS, l.admit(ip("10.0.0.1")).refused());
        assertNull(l.admit(ip("10.0.0.2")).refused());

        l.release(ip("10.0.0.1"));
        assertNull(l.admit(ip("10.0.0.1")).refused(), "a closed connection gives its slot back");
    }

    @Test
    void rateLimitRefusesABurstBeyondOneSecondsWorthAndRecovers() {
        SourceLimiter l = limiter(1000, 5);
        InetAddress a = ip("10.0.0.1");
        for (int i = 0; i < 5; i++) {
            assertNull(l.admit(a).refused(), "burst connection " + i);
        }
        assertEquals(RejectReason.PER_SOURCE_RATE, l.admit(a).refused());
        assertNull(l.admit(ip("10.0.0.2")).refused(), "another address has its own bucket");

        advance(Duration.ofMillis(199));
        assertEquals(RejectReason.PER_SOURCE_RATE, l.admit(a).refused(), "refills at 5/s: not yet one token");
        advance(Duration.ofMillis(1));
        assertNull(l.admit(a).refused(), "one token after 200 ms");
        assertEquals(RejectReason.PER_SOURCE_RATE, l.admit(a).refused());

        advance(Duration.ofSeconds(10));
        for (int i = 0; i < 5; i++) {
            assertNull(l.admit(a).refused(), "refilled to one second's worth, connection " + i);
        }
        assertEquals(RejectReason.PER_SOURCE_RATE, l.admit(a).refused(), "and no more than that");
        assertEquals(4, l.busiest(10).get(0).rejectedConnections(), "each refusal counted");
    }

    @Test
    void rateZeroIsOff() {
        SourceLimiter l = limiter(100_000, 0);
        for (int i = 0; i < 10_000; i++) {
            assertNull(l.admit(ip("10.0.0.1")).refused());
        }
    }

    @Test
    void allowedAddressesAndBlocksAreExemptFromBothLimits() {
        SourceLimiter l = limiter(1, 1, "10.0.0.7", "192.168.0.0/16", "2001:db8::/32");
        for (String client : List.of("10.0.0.7", "192.168.44.1", "2001:db8:1:2::3", "::ffff:192.168.1.1")) {
            for (int i = 0; i < 5; i++) {
                assertSame(SourceLimiter.Admission.EXEMPT, l.admit(ip(client)), client + " #" + i);
            }
        }
        assertNull(l.admit(ip("10.0.0.8")).refused());
        assertEquals(RejectReason.PER_SOURCE_CONNECTIONS, l.admit(ip("10.0.0.8")).refused(), "not on the list");
    }

    @Test
    void aReloadAppliesNewLimitsToNewConnectionsAndKeepsTheCounts() {
        SourceLimiter l = limiter(3, 0);
        for (int i = 0; i < 3; i++) {
            l.admit(ip("10.0.0.1"));
        }
        l.configure(new Limits.PerSource(4, 0, List.of()));
        assertNull(l.admit(ip("10.0.0.1")).refused(), "the fourth fits the new limit");
        assertEquals(RejectReason.PER_SOURCE_CONNECTIONS, l.admit(ip("10.0.0.1")).refused(),
                "the three from before still count");
        assertEquals(4, l.busiest(1).get(0).openConnections());
    }

    @Test
    void tableStaysBoundedUnderAHundredThousandAddresses() {
        SourceLimiter l = new SourceLimiter(clock, SourceLimiter.MAX_IDLE_SOURCES);
        for (int i = 0; i < 100_000; i++) {
            InetAddress a = ip("10." + (i >> 16) + "." + ((i >> 8) & 0xff) + "." + (i & 0xff));
            SourceLimiter.Admission admitted = l.admit(a);
            l.release(admitted.key());
            advance(Duration.ofMillis(1));
        }
        assertTrue(l.size() <= SourceLimiter.MAX_IDLE_SOURCES, "size " + l.size());

        advance(SourceLimiter.IDLE);
        assertEquals(0, l.size(), "idle addresses expire");
    }

    @Test
    void anAddressWithOpenConnectionsKeepsItsCountThroughEvictionAndIdleTime() {
        SourceLimiter l = new SourceLimiter(clock, 100);
        l.configure(new Limits.PerSource(2, 0, List.of()));
        InetAddress holder = ip("10.255.0.1");
        l.admit(holder);
        l.admit(holder);
        for (int i = 0; i < 100_000; i++) {
            l.release(l.admit(ip("10." + (i >> 16) + "." + ((i >> 8) & 0xff) + "." + (i & 0xff))).key());
        }
        assertTrue(l.size() <= 101, "size " + l.size());
        advance(SourceLimiter.IDLE.multipliedBy(6));
        assertEquals(1, l.size(), "only the address with open connections is left");

        assertEquals(RejectReason.PER_SOURCE_CONNECTIONS, l.admit(holder).refused(),
                "two connections still open: the count survived");
        l.release(holder);
        l.release(holder);
        advance(SourceLimiter.IDLE);
        assertEquals(0, l.size(), "forgotten once its last connection closed and it went idle");
    }

    @Test
    void busiestListsMostOpenFirstWithRejections() {
        SourceLimiter l = limiter(3, 0);
        for (int i = 0; i < 4; i++) {
            l.admit(ip("10.0.0.3"));
        }
        l.admit(ip("2001:db8:0:1::1"));
        l.admit(ip("2001:db8:0:1::2"));
        l.admit(ip("10.0.0.1"));
        l.release(l.admit(ip("10.0.0.2")).key());

        assertEquals(List.of(new SourceLimiter.Usage("10.0.0.3", 3, 1),
                        new SourceLimiter.Usage("2001:db8:0:1::/64", 2, 0)),
                l.busiest(2));
        assertEquals(3, l.busiest(10).size(), "an address with nothing open and nothing refused is left out");
    }

    @Test
    void warnsOnceNamingTheAddressThenAtMostEveryTenSeconds() {
        Logger logger = (Logger) LoggerFactory.getLogger(SourceLimiter.class);
        ListAppender<ILoggingEvent> logged = new ListAppender<>();
        logged.start();
        logger.addAppender(logged);
        try {
            SourceLimiter l = limiter(1, 0);
            l.admit(ip("10.0.0.1"));
            for (int i = 0; i < 100; i++) {
                l.admit(ip("10.0.0.1"));
            }
            assertEquals(1, logged.list.size());
            assertEquals(Level.WARN, logged.list.get(0).getLevel());
            assertEquals("client=10.0.0.1 over limits.perSource.maxConnections 1: closing its new connections"
                    + " (per_source_connections; 0 more refused since the last warning)",
                    logged.list.get(0).getFormattedMessage());

            advance(SourceLimiter.WARN_EVERY);
            l.admit(ip("10.0.0.1"));
            assertEquals(2, logged.list.size());
            assertTrue(logged.list.get(1).getFormattedMessage().contains("99 more refused"),
                    logged.list.get(1).getFormattedMessage());
        } finally {
            logger.detachAppender(logged);
        }
    }

    static Stream<Arguments> keys() {
        return Stream.of(
                arguments("10.1.2.3", "10.1.2.3"),
                arguments("::ffff:10.1.2.3", "10.1.2.3"),
                arguments("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::"),
                arguments("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::"),
                arguments("2001:db8:1:3::1", "2001:db8:1:3::"),
                arguments("::1", "::"),
                arguments("fe80::1", "fe80::1"),
                arguments("fe80::1%1", "fe80::1"));
    }

    @ParameterizedTest(name = "{0} -> {1}")
    @MethodSource("keys")
    void ipv4IsKeyedByAddressAndIpv6ByItsSlash64ButLinkLocalByAddress(String client, String key) {
        assertEquals(ip(key), SourceLimiter.keyOf(ip(client)));
    }

    @Test
    void twoAddressesOfOneSlash64ShareTheirLimit() {
        SourceLimiter l = limiter(1, 0);
        assertNull(l.admit(ip("2001:db8:1:2::1")).refused());
        assertEquals(RejectReason.PER_SOURCE_CONNECTIONS, l.admit(ip("2001:db8:1:2:ab::9")).refused());
        assertNull(l.admit(ip("2001:db8:1:3::1")).refused(), "the next /64 is another source");
        List<String> sources = new ArrayList<>();
        l.busiest(5).forEach(u -> sources.add(u.source()));
        assertEquals(List.of("2001:db8:1:2::/64", "2001:db8:1:3::/64"), sources);
    }
}
