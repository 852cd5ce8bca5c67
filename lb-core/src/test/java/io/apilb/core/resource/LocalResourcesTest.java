package io.apilb.core.resource;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import java.io.IOException;
import java.net.ConnectException;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.slf4j.LoggerFactory;

class LocalResourcesTest {
    private final Logger logger = (Logger) LoggerFactory.getLogger(LocalResources.class);
    private final ListAppender<ILoggingEvent> logged = new ListAppender<>();
    private final AtomicLong clock = new AtomicLong(1_000);
    private final LocalResources resources = new LocalResources(clock::get);

    @BeforeEach
    void attach() {
        logged.start();
        logger.addAppender(logged);
    }

    @AfterEach
    void detach() {
        logger.detachAppender(logged);
    }

    @Test
    void countsEveryLocalShortageByKindAndIgnoresOtherErrors() {
        for (int i = 0; i < 5; i++) {
            resources.record(new IOException("Too many open files"), "accept listener=api");
        }
        resources.record(new ConnectException("connect(..) failed: Cannot assign requested address"),
                "dial backend=m1");
        assertNull(resources.record(new ConnectException("Connection refused"), "dial backend=m1"));

        assertEquals(5, resources.count(LocalResourceError.EMFILE));
        assertEquals(1, resources.count(LocalResourceError.EADDRNOTAVAIL));
        assertEquals(6, resources.total());
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        new LocalResourceMetrics(resources).bindTo(registry);
        assertEquals(5.0, registry.get(LocalResourceMetrics.ERRORS).tag("kind", "emfile").functionCounter().count());
        assertEquals(0.0, registry.get(LocalResourceMetrics.ERRORS).tag("kind", "enomem").functionCounter().count());
    }

    @Test
    void warnsOncePerKindAndIntervalSayingWhatToRaise() {
        for (int i = 0; i < 100; i++) {
            resources.record(LocalResourceError.EMFILE, "accept listener=api");
        }
        resources.record(LocalResourceError.EADDRNOTAVAIL, "dial backend=m1");
        List<String> lines = logged.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
        assertEquals(2, lines.size(), lines::toString);
        assertTrue(lines.get(0).contains("Too many open files (emfile) on accept listener=api")
                && lines.get(0).contains("LimitNOFILE"), lines.get(0));
        assertTrue(lines.get(1).contains("net.ipv4.ip_local_port_range") && lines.get(1).contains("tcp_tw_reuse"),
                lines.get(1));

        clock.addAndGet(TimeUnit.SECONDS.toNanos(LocalResources.WARN_INTERVAL_SECONDS));
        resources.record(LocalResourceError.EMFILE, "accept listener=api");
        assertEquals(3, logged.list.size());
        assertTrue(logged.list.get(2).getFormattedMessage().contains("99 not logged"),
                logged.list.get(2).getFormattedMessage());
    }
}
