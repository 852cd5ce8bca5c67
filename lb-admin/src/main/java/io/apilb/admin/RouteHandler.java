package io.apilb.admin;

/**
 * Answers the requests of one route. Runs on the admin event loop unless the route was added as
 * blocking, in which case it runs on an admin worker (a read worker for {@code GET}, the change
 * worker otherwise) and may wait.
 */
@FunctionalInterface
interface RouteHandler {
    AdminResponse handle(AdminRequest request) throws Exception;
}
