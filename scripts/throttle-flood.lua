-- wrk: failed sign-ins from one address (X-Forwarded-For) that the throttle has refused.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["X-Forwarded-For"] = "203.0.113.9"
wrk.body = "username=guess&password=wrong&next=%2Fhome"

function init(args)
  wrk.headers["Origin"] = args[1]
end
