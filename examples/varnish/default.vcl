# Varnish in front of a shop and the Eerlijk widget server (examples/varnish/README.md).
# The shop's pages carry <esi:include src="/w/SHOP/WIDGET.html?..."/>; Varnish fetches each
# fragment from Eerlijk (cached by its ETag and Cache-Control) and assembles the page.
vcl 4.1;

backend shop {            # the shop's own web server (here: python -m http.server 8080)
    .host = "127.0.0.1";
    .port = "8080";
}

backend eerlijk {         # widgetserver serve (or gunicorn) on port 5000
    .host = "127.0.0.1";
    .port = "5000";
}

acl purgers { "127.0.0.1"; "::1"; }

sub vcl_recv {
    # BAN with "Surrogate-Key: shop-demo" drops every cached object of that shop (after a write).
    if (req.method == "BAN") {
        if (!(client.ip ~ purgers)) { return (synth(405, "Not allowed")); }
        ban("obj.http.Surrogate-Key == " + req.http.Surrogate-Key);
        return (synth(200, "Banned"));
    }
    if (req.url ~ "^/(w|s|api)/" || req.url ~ "^/embed\.js") {
        set req.backend_hint = eerlijk;
        unset req.http.Cookie;        # widget reads are public: cookies would only split the cache
        unset req.http.Authorization;
    } else {
        set req.backend_hint = shop;
    }
}

sub vcl_backend_response {
    if (bereq.backend == shop && beresp.http.Content-Type ~ "text/html") {
        set beresp.do_esi = true;     # assemble <esi:include> fragments
    }
    if (bereq.backend == eerlijk && bereq.url ~ "^/w/") {
        # Cache-Control: public, max-age=60, stale-while-revalidate=600 sets ttl and grace.
        # Keep objects after they go stale so Varnish revalidates them with If-None-Match (304).
        set beresp.keep = 1h;
    }
}

sub vcl_deliver {
    if (obj.hits > 0) { set resp.http.X-Cache = "HIT"; } else { set resp.http.X-Cache = "MISS"; }
    set resp.http.X-Cache-Hits = obj.hits;
}
