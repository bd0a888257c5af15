/* Shared by egorig's OSL cameras (one model per shader, parameters as shader inputs).
 *
 * Pixels follow OpenCV: (u, v) = (0, 0) is the centre of the top-left pixel. Cycles' raster position is
 * (0, 0) at the bottom-left corner and (1, 1) at the top-right one, so u = x W - 0.5 and v = (1 - y) H - 0.5.
 * Rays are built in the OpenCV camera frame (x right, y down, z optical axis) and returned in the OSL camera
 * frame (x right, y up, z optical axis): (x, -y, z). A pixel outside the model's valid cone gets throughput 0
 * (black, like the native fisheye outside its image circle).
 */

#define EGORIG_NEWTON_ITERS 40

void egorig_pixel(float width, float height, output float pu, output float pv)
{
    point raster = camera_shader_raster_position();
    pu = raster[0] * width - 0.5;
    pv = (1.0 - raster[1]) * height - 0.5;
}

vector egorig_ray(float theta, float mx, float my)
{
    float r = hypot(mx, my);
    float c = 0.0;
    float s = 0.0;
    if (r > 0.0) {
        c = mx / r;
        s = my / r;
    }
    float st = sin(theta);
    return vector(st * c, -st * s, cos(theta));
}

/* One step of Newton's method for an increasing function, kept inside its bisection bracket [lo, hi]: f is the
 * function minus its target at x, df its derivative there. Updates x, lo and hi; returns 1 once the step is below
 * 1e-7 relative (float32). */
int egorig_bracketed_newton(float f, float df, output float x, output float lo, output float hi)
{
    if (f < 0.0)
        lo = x;
    else
        hi = x;
    float x_new = x - f / df;
    if (!(x_new > lo && x_new < hi))
        x_new = 0.5 * (lo + hi);
    int done = abs(x_new - x) <= 1e-7 * max(1.0, x);
    x = x_new;
    return done;
}

/* theta_d(theta) = theta (1 + c1 theta^2 + ... + c6 theta^12), and its derivative. */
float egorig_odd_poly(float t, float c1, float c2, float c3, float c4, float c5, float c6)
{
    float t2 = t * t;
    return t * (1.0 + t2 * (c1 + t2 * (c2 + t2 * (c3 + t2 * (c4 + t2 * (c5 + t2 * c6))))));
}

float egorig_odd_poly_d(float t, float c1, float c2, float c3, float c4, float c5, float c6)
{
    float t2 = t * t;
    return 1.0 + t2 * (3.0 * c1 + t2 * (5.0 * c2 + t2 * (7.0 * c3 + t2 * (9.0 * c4 + t2 * (11.0 * c5 +
           t2 * 13.0 * c6)))));
}

/* Solve egorig_odd_poly(theta) = td on [0, theta_max] (increasing there): Newton kept inside a bisection bracket. */
float egorig_solve_theta(float td, float theta_max, float c1, float c2, float c3, float c4, float c5, float c6)
{
    float lo = 0.0;
    float hi = theta_max;
    float t = min(td, theta_max);
    for (int i = 0; i < EGORIG_NEWTON_ITERS; i++) {
        float f = egorig_odd_poly(t, c1, c2, c3, c4, c5, c6) - td;
        if (egorig_bracketed_newton(f, egorig_odd_poly_d(t, c1, c2, c3, c4, c5, c6), t, lo, hi))
            break;
    }
    return t;
}

/* OpenCV radial (k1, k2, k3 over k4, k5, k6) + tangential (p1, p2) distortion of normalised (a, b), with its
 * Jacobian (j00 = dmx/da, j01 = dmx/db, j10 = dmy/da, j11 = dmy/db). */
void egorig_radtan(float a, float b, float k1, float k2, float k3, float k4, float k5, float k6, float p1,
                   float p2, output float mx, output float my, output float j00, output float j01,
                   output float j10, output float j11)
{
    float r2 = a * a + b * b;
    float n = 1.0 + r2 * (k1 + r2 * (k2 + r2 * k3));
    float d = 1.0 + r2 * (k4 + r2 * (k5 + r2 * k6));
    float dn = k1 + r2 * (2.0 * k2 + r2 * 3.0 * k3);
    float dd = k4 + r2 * (2.0 * k5 + r2 * 3.0 * k6);
    float radial = n / d;
    float dradial = (dn * d - n * dd) / (d * d); /* d radial / d r^2 */
    mx = a * radial + 2.0 * p1 * a * b + p2 * (r2 + 2.0 * a * a);
    my = b * radial + p1 * (r2 + 2.0 * b * b) + 2.0 * p2 * a * b;
    j00 = radial + 2.0 * a * a * dradial + 2.0 * p1 * b + 6.0 * p2 * a;
    j01 = 2.0 * a * b * dradial + 2.0 * p1 * a + 2.0 * p2 * b;
    j10 = j01;
    j11 = radial + 2.0 * b * b * dradial + 6.0 * p1 * b + 2.0 * p2 * a;
}

/* Invert egorig_radtan: the radial part first (Newton in a bisection bracket on [0, r_max], where it increases),
 * then 2D Newton for the tangential part. Returns the remaining error |distort(a, b) - (mx, my)| (normalised
 * units): a pixel beyond the distortion's fold has no preimage, and a large error says so. */
float egorig_undistort_radtan(float mx, float my, float k1, float k2, float k3, float k4, float k5, float k6,
                             float p1, float p2, float r_max, output float a, output float b)
{
    float rd = hypot(mx, my);
    float lo = 0.0;
    float hi = r_max;
    float r = min(rd, r_max);
    float fx, fy, j00, j01, j10, j11;
    for (int i = 0; i < EGORIG_NEWTON_ITERS; i++) {
        egorig_radtan(r, 0.0, k1, k2, k3, k4, k5, k6, 0.0, 0.0, fx, fy, j00, j01, j10, j11);
        if (egorig_bracketed_newton(fx - rd, j00, r, lo, hi))
            break;
    }
    a = rd > 0.0 ? mx * r / rd : 0.0;
    b = rd > 0.0 ? my * r / rd : 0.0;
    for (int i = 0; i < 8; i++) {
        egorig_radtan(a, b, k1, k2, k3, k4, k5, k6, p1, p2, fx, fy, j00, j01, j10, j11);
        float ex = fx - mx;
        float ey = fy - my;
        float det = j00 * j11 - j01 * j10;
        if (det == 0.0)
            break;
        a -= (j11 * ex - j01 * ey) / det;
        b -= (-j10 * ex + j00 * ey) / det;
    }
    egorig_radtan(a, b, k1, k2, k3, k4, k5, k6, p1, p2, fx, fy, j00, j01, j10, j11);
    return hypot(fx - mx, fy - my);
}

/* Largest undistortion error accepted for a ray, relative to 1 + |(mx, my)| (float32 rounding is ~1e-7). */
#define EGORIG_UNDISTORT_TOL 1e-5
