package io.apilb.health;

import io.apilb.core.testing.TestHttpsClient;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

import javax.net.ssl.SSLException;

/**
 * Two steady clients of the proxy, each on its own thread, bounded in iterations and time: one opens
 * a new connection per request, the other keeps one connection alive and reconnects when the server
 * closed it between requests, as client-go's transport does (a GET on a reused connection that ends
 * before any byte of the response is retried once on a fresh connection).
 */
final class ClientLoops implements AutoCloseable {
    private static final int MAX_ITERATIONS = 5_000;
    private static final long MAX_NANOS = TimeUnit.SECONDS.toNanos(60);
    /** Steady load, not a flood: the probes share two cores with the loops and must keep their timing. */
    private static final long PACE_NANOS = TimeUnit.MILLISECONDS.toNanos(15);
    private static final int TIMEOUT_MILLIS = 5_000;

    final Loop fresh = new Loop("new-connection loop");
    final Loop kept = new Loop("kept-alive loop");
    private final AtomicBoolean running = new AtomicBoolean(true);
    private final ExecutorService threads = Executors.newFixedThreadPool(2);
    private final InetSocketAddress address;

    private ClientLoops(InetSocketAddress address) {
        this.address = address;
    }

    static ClientLoops start(InetSocketAddress address) {
        ClientLoops loops = new ClientLoops(address);
        loops.threads.execute(loops::runFresh);
        loops.threads.execute(loops::runKept);
        return loops;
    }

    /** True when something accepts TCP connections on this loopback port. */
    static boolean accepts(int port) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1_000);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    void stop() {
        running.set(false);
        threads.shutdown();
        try {
            if (!threads.awaitTermination(2 * TIMEOUT_MILLIS + 5_000, TimeUnit.MILLISECONDS)) {
                throw new IllegalStateException("client loops did not stop");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted while stopping the client loops", e);
        }
    }

    @Override
    public void close() {
        if (running.get()) {
            stop();
        }
    }

    private boolean next(int i, long deadline) {
        if (i > 0) {
            LockSupport.parkNanos(PACE_NANOS);
        }
        return i < MAX_ITERATIONS && running.get() && System.nanoTime() < deadline;
    }

    private void runFresh() {
        long deadline = System.nanoTime() + MAX_NANOS;
        for (int i = 0; next(i, deadline); i++) {
            try (TestHttpsClient c = TestHttpsClient.connect(address, null, null, TIMEOUT_MILLIS)) {
                fresh.reconnects.incrementAndGet();
                fresh.record(c.get("/version"), i);
            } catch (IOException | RuntimeException e) {
                fresh.fail(i, e);
            }
        }
    }

    private void runKept() {
        long deadline = System.nanoTime() + MAX_NANOS;
        TestHttpsClient c = null;
        try {
            for (int i = 0; next(i, deadline); i++) {
                try {
                    if (c == null) {
                        c = reconnect(null, false);
                    }
                    TestHttpsClient.Response r;
                    try {
                        r = c.get("/version");
                    } catch (IOException e) {
                        if (!closedBeforeAnswering(e)) {
                            throw e;
                        }
                        c = reconnect(c, true);
                        r = c.get("/version");
                    }
                    kept.record(r, i);
                } catch (IOException | RuntimeException e) {
                    kept.fail(i, e);
                    c = null;
                }
            }
        } finally {
            if (c != null) {
                c.close();
            }
        }
    }

    private TestHttpsClient reconnect(TestHttpsClient old, boolean retry) throws IOException {
        if (old != null) {
            old.close();
        }
        kept.reconnects.incrementAndGet();
        if (retry) {
            kept.retries.incrementAndGet();
        }
        return TestHttpsClient.connect(address, null, null, TIMEOUT_MILLIS);
    }

    /** The peer closed the connection before the status line: nothing of this request was answered. */
    private static boolean closedBeforeAnswering(IOException e) {
        return "connection closed before a response".equals(e.getMessage()) || e instanceof SSLException
                || e instanceof java.net.SocketException;
    }

    /** Outcomes of one loop. */
    static final class Loop {
        private final String name;
        private final AtomicInteger successes = new AtomicInteger();
        private final AtomicInteger reconnects = new AtomicInteger();
        private final AtomicInteger retries = new AtomicInteger();
        private final List<String> failures = new CopyOnWriteArrayList<>();

        Loop(String name) {
            this.name = name;
        }

        int successes() {
            return successes.get();
        }

        List<String> failures() {
            return List.copyOf(failures);
        }

        void record(TestHttpsClient.Response r, int i) {
            if (r.status() == 200) {
                successes.incrementAndGet();
            } else {
                failures.add("#" + i + ": HTTP " + r.status());
            }
        }

        void fail(int i, Exception e) {
            failures.add("#" + i + ": " + e);
        }

        @Override
        public String toString() {
            return name + " " + successes + " ok, " + failures.size() + " failed, " + reconnects + " connects, "
                    + retries + " retried";
        }
    }
}
