package io.apilb.health;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

/**
 * A throwaway nftables table that silently drops loopback packets to and from one port, as a
 * partitioned or powered-off master would. Needs the {@code nft} command and CAP_NET_ADMIN;
 * {@link #unavailableReason()} says why not, for a test assumption. Always {@link #close()} it.
 */
final class Nft implements AutoCloseable {
    private final String table = "apilb_test_" + Long.toHexString(ThreadLocalRandom.current().nextLong() >>> 1);
    private boolean created;

    /** Null when tables can be created and deleted here, otherwise why not. */
    static String unavailableReason() {
        try (Nft probe = new Nft()) {
            probe.run("add", "table", "inet", probe.table);
            probe.created = true;
            return null;
        } catch (IOException e) {
            return e.getMessage();
        }
    }

    /** Drops every TCP packet on {@code lo} whose source or destination port is {@code port}. */
    void dropLoopbackPort(int port) throws IOException {
        run("add", "table", "inet", table);
        created = true;
        run("add", "chain", "inet", table, "input", "{ type filter hook input priority -10; policy accept; }");
        run("add", "rule", "inet", table, "input", "iif", "lo", "tcp", "dport", String.valueOf(port), "drop");
        run("add", "rule", "inet", table, "input", "iif", "lo", "tcp", "sport", String.valueOf(port), "drop");
    }

    @Override
    public void close() {
        if (created) {
            try {
                run("delete", "table", "inet", table);
                created = false;
            } catch (IOException e) {
                throw new IllegalStateException("could not delete nft table " + table + ": " + e.getMessage(), e);
            }
        }
    }

    private void run(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add("nft");
        cmd.addAll(List.of(args));
        Process p;
        try {
            p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        } catch (IOException e) {
            throw new IOException("nft not runnable: " + e.getMessage(), e);
        }
        try {
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", cmd) + ": no answer in 10s");
            }
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IOException("interrupted", e);
        }
        if (p.exitValue() != 0) {
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).strip();
            throw new IOException(String.join(" ", cmd) + ": exit " + p.exitValue() + ": " + out);
        }
    }
}
