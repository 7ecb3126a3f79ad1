-- wrk: send every request as a POST with an empty body.
wrk.method = "POST"
