package io.migrationverifier.ops;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The operations endpoint of {@code run} ({@code http:} in the config): the JDK's HTTP server
 * with a route table, path then method to handler. {@code POST /check} is the first route; a
 * status page or {@code GET /metrics} are added with {@link #route} the same way. A path with no
 * route answers 404, a method the path does not take 405 (with {@code Allow}); every answer is JSON
 * unless the handler says otherwise.
 */
public final class HttpEndpoint implements AutoCloseable {
  private static final Logger LOG = LoggerFactory.getLogger(HttpEndpoint.class);
  /** Requests bigger than this are refused (413): the routes take small JSON documents. */
  public static final int MAX_BODY = 64 * 1024;

  /** What a handler answers. */
  public record Response(int status, String contentType, byte[] body) {
    public static Response json(int status, Object node) {
      return new Response(status, "application/json", CheckJson.text(node).getBytes(StandardCharsets.UTF_8));
    }

    public static Response error(int status, String message) {
      return json(status, CheckJson.error(message));
    }
  }

  /** One request, body already read (at most {@link #MAX_BODY} bytes). */
  public record Request(String method, String path, String query, Map<String, List<String>> headers, byte[] body) {}

  @FunctionalInterface
  public interface Handler {
    Response handle(Request request) throws Exception;
  }

  /** Thrown by a handler for a bad request: answered 400 with the message. */
  public static final class BadRequest extends RuntimeException {
    public BadRequest(String message) {
      super(message);
    }
  }

  private final Map<String, Map<String, Handler>> routes = new LinkedHashMap<>();
  private final List<AutoCloseable> resources = new ArrayList<>();
  private HttpServer server;
  private ExecutorService executor;

  /** Adds a route; before {@link #start}. */
  public synchronized HttpEndpoint route(String method, String path, Handler handler) {
    if (server != null) {
      throw new IllegalStateException("add routes before start");
    }
    routes.computeIfAbsent(path, p -> new LinkedHashMap<>()).put(method, handler);
    return this;
  }

  /** Closed with the endpoint (after the server stopped taking requests). */
  public synchronized HttpEndpoint closing(AutoCloseable resource) {
    resources.add(resource);
    return this;
  }

  /**
   * Binds and serves.
   *
   * @param port 0 = any free port ({@link #address()} says which)
   * @throws IOException the address cannot be bound
   */
  public synchronized HttpEndpoint start(String bind, int port, int threads) throws IOException {
    server = HttpServer.create(new InetSocketAddress(bind, port), 16);
    AtomicInteger n = new AtomicInteger();
    executor = Executors.newFixedThreadPool(threads, r -> {
      Thread t = new Thread(r, "http-" + n.incrementAndGet());
      t.setDaemon(true);
      return t;
    });
    server.setExecutor(executor);
    server.createContext("/", this::serve);
    server.start();
    LOG.info("HTTP endpoint listening on http://{}:{} ({})", address().getHostString(), address().getPort(),
        routesText());
    return this;
  }

  public InetSocketAddress address() {
    return server.getAddress();
  }

  /** {@code POST /check, GET /metrics}. */
  public String routesText() {
    List<String> l = new ArrayList<>();
    routes.forEach((p, m) -> m.keySet().forEach(method -> l.add(method + " " + p)));
    return String.join(", ", l);
  }

  private void serve(HttpExchange ex) throws IOException {
    Response r;
    try {
      r = dispatch(ex);
    } catch (RuntimeException e) {
      LOG.warn("HTTP {} {} failed: {}", ex.getRequestMethod(), ex.getRequestURI(), e.toString(), e);
      r = Response.error(500, "internal error: " + e);
    }
    try {
      ex.getResponseHeaders().set("Content-Type", r.contentType() + "; charset=utf-8");
      ex.sendResponseHeaders(r.status(), r.body().length == 0 ? -1 : r.body().length);
      if (r.body().length > 0) {
        try (OutputStream os = ex.getResponseBody()) {
          os.write(r.body());
        }
      }
    } finally {
      ex.close();
    }
  }

  private Response dispatch(HttpExchange ex) throws IOException {
    String path = ex.getRequestURI().getPath();
    Map<String, Handler> byMethod = routes.get(path);
    if (byMethod == null) {
      return Response.error(404, "no such path: " + path + "; this endpoint serves " + routesText());
    }
    Handler h = byMethod.get(ex.getRequestMethod());
    if (h == null) {
      ex.getResponseHeaders().set("Allow", String.join(", ", byMethod.keySet()));
      return Response.error(405, "method " + ex.getRequestMethod() + " not allowed on " + path + "; use "
          + String.join(" or ", byMethod.keySet()));
    }
    byte[] body;
    try (InputStream in = ex.getRequestBody()) {
      body = in.readNBytes(MAX_BODY + 1);
    }
    if (body.length > MAX_BODY) {
      return Response.error(413, "request body larger than " + MAX_BODY + " bytes");
    }
    try {
      return h.handle(new Request(ex.getRequestMethod(), path, ex.getRequestURI().getRawQuery(),
          ex.getRequestHeaders(), body));
    } catch (BadRequest e) {
      return Response.error(400, e.getMessage());
    } catch (RuntimeException e) {
      throw e;
    } catch (Exception e) {
      LOG.warn("HTTP {} {} failed: {}", ex.getRequestMethod(), path, e.toString(), e);
      return Response.error(500, e.toString());
    }
  }

  @Override
  public synchronized void close() {
    if (server != null) {
      server.stop(1);
      executor.shutdown();
      try {
        executor.awaitTermination(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
      server = null;
    }
    for (AutoCloseable r : resources) {
      try {
        r.close();
      } catch (Exception e) {
        LOG.warn("closing {}: {}", r, e.toString());
      }
    }
    resources.clear();
  }
}
