package io.apilb.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.config.BackendConfig;
import io.apilb.core.config.HostPort;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

class BackendPoolTest {

    private static BackendConfig b(String name, String address, int weight) {
        return new BackendConfig(name, HostPort.parse(address), weight);
    }

    @Test
    void healthAndAdminStateAreIndependentAndBothDecideRoutability() {
        BackendPool pool = new BackendPool(List.of(b("m1", "10.0.0.1:6443", 1)));
        Backend m1 = pool.get("m1");
        assertTrue(m1.routable(), "UNKNOWN and READY is routable");
        pool.setAdminState(m1, AdminState.DRAIN);
        pool.setHealth(m1, Health.UP, null);
        assertFalse(m1.routable());
        assertEquals(List.of(), pool.snapshot().routable());
        assertEquals(List.of(), pool.snapshot().failOpen(), "a drained backend is not a fail-open candidate");
        pool.setAdminState(m1, AdminState.READY);
        assertEquals(List.of(m1), pool.snapshot().routable());
        pool.setHealth(m1, Health.DOWN, null);
        assertEquals(List.of(), pool.snapshot().routable());
        assertEquals(List.of(m1), pool.snapshot().failOpen());
    }

    @Test
    void listenersHearEachChangeOnceWithTheOldValues() {
        BackendPool pool = new BackendPool(List.of(b("m1", "10.0.0.1:6443", 1)));
        List<String> heard = new ArrayList<>();
        pool.addListener((backend, oldHealth, oldState) ->
                heard.add(backend.name() + " " + oldHealth + "/" + oldState + " -> " + backend.health() + "/"
                        + backend.adminState()));
        Backend m1 = pool.get("m1");
        pool.setHealth(m1, Health.UP, null);
        pool.setHealth(m1, Health.UP, null);
        pool.setAdminState(m1, AdminState.MAINT);
        assertEquals(List.of("m1 UNKNOWN/READY -> UP/READY", "m1 UP/READY -> UP/MAINT"), heard);
    }

    @Test
    void downtimeAccumulatesOnlyWhileDown() throws Exception {
        BackendPool pool = new BackendPool(List.of(b("m1", "10.0.0.1:6443", 1)));
        Backend m1 = pool.get("m1");
        assertEquals(0, m1.downtimeMillis());
        pool.setHealth(m1, Health.DOWN, null);
        long before = System.currentTimeMillis();
        while (System.currentTimeMillis() - before < 30) {
            Thread.onSpinWait();
        }
        pool.setHealth(m1, Health.UP, null);
        long down = m1.downtimeMillis();
        assertTrue(down >= 30, "downtime " + down);
        assertEquals(down, m1.downtimeMillis(), "frozen while up");
    }

    @Test
    void reconfigureKeepsUnchangedBackendsWithTheirStateAndReplacesMovedOnes() {
        BackendPool pool = new BackendPool(List.of(b("a", "10.0.0.1:6443", 1), b("b", "10.0.0.2:6443", 1),
                b("c", "10.0.0.3:6443", 1)));
        Backend a = pool.get("a");
        Backend b = pool.get("b");
        Backend c = pool.get("c");
        pool.setHealth(b, Health.UP, null);
        b.stats().connectionOpened();
        b.stats().connectionEstablished();

        BackendPool.Change change = pool.reconfigure(List.of(b("b", "10.0.0.2:6443", 3), b("c", "10.0.0.33:6443", 1),
                b("d", "10.0.0.4:6443", 1)));

        assertSame(b, pool.get("b"), "unchanged name and address: same backend");
        assertEquals(Health.UP, b.health());
        assertEquals(1, b.stats().total());
        assertEquals(3, b.weight(), "weight updated in place");
        assertNotSame(c, pool.get("c"), "a new address is a new backend");
        assertEquals(List.of(a, c), change.removed());
        assertEquals(List.of("c", "d"), change.added().stream().map(Backend::name).toList());
        assertEquals(List.of(b), change.kept());
        assertEquals(List.of("b", "c", "d"), pool.all().stream().map(Backend::name).toList());
        assertThrows(IllegalArgumentException.class, () -> pool.setHealth(a, Health.DOWN, null),
                "a removed backend is no longer the pool's");
    }
}
