package io.apilb.app.ops;

import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Runs host programs (promtool, keepalived, ip) with a deadline, capturing their output. */
final class Commands {
    private Commands() {
    }

    /** Exit status and combined stdout/stderr of a finished command. */
    record Result(int exit, String output) {
        boolean ok() {
            return exit == 0;
        }
    }

    /** Whether an executable of that name is on PATH (or in /usr/sbin, /sbin, where root's tools live). */
    static boolean available(String name) {
        String path = System.getenv().getOrDefault("PATH", "") + File.pathSeparator + "/usr/sbin:/sbin";
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, name))) {
                return true;
            }
        }
        return false;
    }

    /** Skips the calling test, naming the Debian package to install, when {@code tool} is not installed. */
    static void assumeInstalled(String tool, String debianPackage, String needed) {
        Assumptions.assumeTrue(available(tool),
                tool + " not installed (Debian package " + debianPackage + "): " + needed);
    }

    static boolean isRoot() {
        try {
            return run(Duration.ofSeconds(5), "id", "-u").output().strip().equals("0");
        } catch (IllegalStateException e) {
            return false;
        }
    }

    static Result run(Duration timeout, String... command) {
        return run(timeout, null, Map.of(), command);
    }

    /**
     * Runs {@code command} in {@code dir} (null: the current one) with extra environment
     * variables. A command that outlives {@code timeout} is killed and reported as a failure.
     */
    static Result run(Duration timeout, Path dir, Map<String, String> env, String... command) {
        Path out = null;
        Process p = null;
        try {
            out = Files.createTempFile("apilb-cmd", ".out");
            ProcessBuilder pb = new ProcessBuilder(List.of(command)).redirectErrorStream(true)
                    .redirectOutput(out.toFile()).redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            if (dir != null) {
                pb.directory(dir.toFile());
            }
            pb.environment().putAll(env);
            p = pb.start();
            if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                p.destroyForcibly().waitFor(5, TimeUnit.SECONDS);
                throw new IllegalStateException(String.join(" ", command) + " did not finish within " + timeout
                        + "; output:\n" + Files.readString(out, StandardCharsets.UTF_8));
            }
            return new Result(p.exitValue(), Files.readString(out, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + String.join(" ", command) + ": " + e, e);
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + String.join(" ", command), e);
        } finally {
            if (out != null) {
                try {
                    Files.deleteIfExists(out);
                } catch (IOException e) {
                    // A leftover temp file is harmless.
                }
            }
        }
    }
}
