package io.apilb.core.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.apilb.core.testing.FakeConnection;
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
        assertTrue(pool.snapshot().isRoutable(m1), "UNKNOWN and READY is routable");
        pool.setAdminState(m1, AdminState.DRAIN);
        pool.setHealth(m1, Health.UP, null);
        assertFalse(pool.snapshot().isRoutable(m1));
        assertEquals(List.of(), pool.snapshot().routable().backends());
        assertEquals(List.of(), pool.snapshot().failOpen().backends(), "a drained backend is not a fail-open candidate");
        pool.setAdminState(m1, AdminState.READY);
        assertEquals(List.of(m1), pool.snapshot().routable().backends());
        pool.setHealth(m1, Health.DOWN, null);
        assertEquals(List.of(), pool.snapshot().routable().backends());
        assertEquals(List.of(m1), pool.snapshot().failOpen().backends());
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
        ProxiedConnection conn = new FakeConnection();
        assertNull(b.connections().register(conn));
        Snapshot before = pool.snapshot();

        BackendPool.Change change = pool.reconfigure(List.of(b("b", "10.0.0.2:6443", 3), b("c", "10.0.0.33:6443", 1),
                b("d", "10.0.0.4:6443", 1)));

        assertSame(b, pool.get("b"), "unchanged name and address: same backend");
        assertEquals(Health.UP, b.health());
        assertEquals(1, b.connections().total());
        assertEquals(1, b.connections().active(), "its connection is still registered");
        assertEquals(3, pool.snapshot().weight(b), "the new weight is in the new snapshot");
        assertEquals(1, before.weight(b), "a published snapshot never changes");
        assertEquals(1, before.routable().weight(before.routable().backends().indexOf(b)));
        assertNotSame(c, pool.get("c"), "a new address is a new backend");
        assertEquals(List.of(a, c), change.removed());
        assertEquals(List.of("c", "d"), change.added().stream().map(Backend::name).toList());
        assertEquals(List.of(b), change.kept());
        assertEquals(List.of("b", "c", "d"), pool.all().stream().map(Backend::name).toList());
        assertThrows(IllegalArgumentException.class, () -> pool.setHealth(a, Health.DOWN, null),
                "a removed backend is no longer the pool's");
    }

    @Test
    void aBackendAddedByReloadTakesNoConnectionsUntilItsFirstVerdict() {
        BackendPool pool = new BackendPool(List.of(b("a", "10.0.0.1:6443", 1)));
        assertTrue(pool.snapshot().isRoutable(pool.get("a")), "at start, with nothing known, unchecked is routable");

        pool.reconfigure(List.of(b("a", "10.0.0.1:6443", 1), b("d", "10.0.0.4:6443", 1)), true);
        Backend d = pool.get("d");
        assertFalse(pool.snapshot().isRoutable(d), "added by reload: waits for its first check");
        assertTrue(pool.awaitingFirstCheck(d));
        assertEquals(List.of(pool.get("a"), d), pool.snapshot().failOpen().backends(), "but may still fail open");

        pool.setHealth(d, Health.UP, null);
        assertTrue(pool.snapshot().isRoutable(d), "routable once a check vouched for it");
        assertFalse(pool.awaitingFirstCheck(d));
    }

    @Test
    void aBackendAddedByReloadWithoutHealthChecksIsRoutableAtOnce() {
        BackendPool pool = new BackendPool(List.of(b("a", "10.0.0.1:6443", 1)));
        pool.reconfigure(List.of(b("a", "10.0.0.1:6443", 1), b("d", "10.0.0.4:6443", 1)));
        assertTrue(pool.snapshot().isRoutable(pool.get("d")));
    }

    @Test
    void maintenanceDeathAndRemovalRefuseNewRegistrationsAndReadyUndoesIt() {
        BackendPool pool = new BackendPool(List.of(b("a", "10.0.0.1:6443", 1), b("b", "10.0.0.2:6443", 1)));
        Backend a = pool.get("a");
        pool.setAdminState(a, AdminState.MAINT);
        assertEquals(Termination.BACKEND_MAINT, a.connections().register(new FakeConnection()));
        pool.setAdminState(a, AdminState.READY);
        assertNull(a.connections().register(new FakeConnection()));
        pool.setHealth(a, Health.DOWN, null);
        assertNull(a.connections().register(new FakeConnection()), "unready: connections in flight may finish");
        pool.setHealth(a, Health.UP, null);
        pool.setHealth(a, Health.DOWN, Termination.BACKEND_DOWN);
        assertEquals(Termination.BACKEND_DOWN, a.connections().register(new FakeConnection()));
        pool.setHealth(a, Health.UP, null);
        assertNull(a.connections().register(new FakeConnection()));
        Backend b = pool.get("b");
        pool.reconfigure(List.of(b("a", "10.0.0.1:6443", 1)));
        assertEquals(Termination.BACKEND_REMOVED, b.connections().register(new FakeConnection()));
    }
}
