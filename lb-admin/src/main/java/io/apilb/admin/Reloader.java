package io.apilb.admin;

import java.util.List;
import java.util.Objects;

/**
 * Re-reads and applies the configuration file when {@code POST /api/v1/reload} is called. Given to
 * the {@link AdminServer} by the launcher; without one the route answers 501.
 *
 * <p>Called on the admin change worker, never on an event loop: it may read files and wait. Calls
 * do not overlap.
 */
@FunctionalInterface
public interface Reloader {

    /**
     * Applies the file again, all or nothing: an invalid file, or any failure while preparing it, must
     * leave the running configuration untouched and come back as the errors, not as an exception.
     */
    Result reload() throws Exception;

    /**
     * The outcome of a reload: applied (no errors) or refused with every problem found, each with
     * its YAML path, e.g. {@code backends[2].address: ...}.
     */
    record Result(List<String> errors) {
        public Result {
            errors = List.copyOf(Objects.requireNonNull(errors, "errors"));
        }

        public static Result applied() {
            return new Result(List.of());
        }

        public static Result refused(List<String> errors) {
            if (errors.isEmpty()) {
                throw new IllegalArgumentException("errors: empty (expected: at least one)");
            }
            return new Result(errors);
        }

        public boolean ok() {
            return errors.isEmpty();
        }
    }
}
