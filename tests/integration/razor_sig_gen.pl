#!/usr/bin/perl
# razor_sig_gen.pl SEED COUNT DIR -- writes COUNT pseudo-random messages
# (DIR/gen_NNNN.eml) aimed at the corners of razor-agents' preparation and
# engines: MIME boundaries in odd syntax, nesting, missing or extra
# boundary lines, base64 and quoted-printable oddities, HTML tags, comments
# and entities, URLs in every form Whiplash parses (href, bare, https:/,
# user@, =, ports, %XX, &#NN;), autolinks, From lines, CR runs, NULs, high
# bytes, oversized bodies and headers.  Deterministic for a given SEED.
use strict;
use warnings;

my ($seed, $count, $dir) = @ARGV;
die "usage: $0 SEED COUNT DIR\n" unless defined $dir;
srand($seed);

sub pick { return $_[ int(rand(@_)) ] }
sub chance { return rand() < $_[0] }

my @words = qw(the cheap offer now click here viagra money free 0 win prize
  lorem ipsum dolor sit amet unsubscribe best price Dear friend 12345 www http
  href content Content-Type: = == --);
my @suffix = qw(.com .net .org .co.uk .edu.au .sf.ca.us .ca.us .de .info .ne.jp
  .com.br .biz .uk .xyz);

sub label { return join '', map { pick('a' .. 'z', 0 .. 9, '-') } 1 .. 1 + int(rand(8)) }

sub host {
    my $r = rand();
    return join('.', map { int(rand(256)) } 1 .. 4) if $r < 0.1;
    return 'co.uk' if $r < 0.13;
    return 'myedu.au' if $r < 0.15;
    my $h = join '.', map { label() } 1 .. 1 + int(rand(3));
    $h .= pick(@suffix);
    $h = uc $h if chance(0.1);
    $h .= '.' if chance(0.05);
    return $h;
}

sub url {
    my $u = pick('http://', 'http://', 'HTTP://', 'https://', 'http:/', 'hTTps:/');
    $u .= pick('user@', 'a=b@', 'x%40y@', '') if chance(0.2);
    my $h = host();
    if (chance(0.1)) {    # encodings Whiplash undoes
        $h =~ s/([a-z])/chance(0.3) ? sprintf('%%%02X', ord $1) : chance(0.2) ? sprintf('&#%d;', ord $1) : $1/ge;
    }
    $h =~ s/^(.)/$1=/ if chance(0.05);
    $u .= $h;
    $u .= ':' . int(rand(9000)) if chance(0.1);
    $u .= pick('/', '/a/b.html', '?x=1&y=2', '/p?q="x"', '>', '', ' trailing') if chance(0.7);
    $u .= '&#300;' if chance(0.01);
    return $u;
}

sub html {
    my $r = rand();
    return '<a href="' . url() . '">' . pick(@words) . '</a>' if $r < 0.2;
    return '<A HREF = ' . url() . '>' if $r < 0.25;
    return "<a\n href=\n\"" . url() . "\">" if $r < 0.28;
    return "href='" . url() . "'" if $r < 0.3;
    return pick('<b>', '</b>', '<br>', '<p>', '<x <b>', '<b <x>', '<>', '<!-- c -->', '<!--->',
        '<!-- a - b -->', '<table border="1">', "<img src='x>y'>", '<div class="a>b">',
        '&amp;', '&nbsp;', '&notice', '&AMP;', '&#65;', '&lt;b&gt;', '&copy', '&yuml;',
        '<bx>', '</!b>', '<a@b.com>', '<B1>', '>', '<', '<!', '<style>x</style>', '&', '&;',
        '<font color="red">', '</html>', '<html>', '<!DOCTYPE html>', '<script>1<2</script>');
}

sub line {
    my @t;
    for (1 .. int(rand(12))) {
        my $r = rand();
        if    ($r < 0.55) { push @t, pick(@words) }
        elsif ($r < 0.68) { push @t, url() }
        elsif ($r < 0.74) { push @t, pick(' www.', "\twww.", ' WWW.', ' www') . label() . pick(@suffix) . pick('', '/x', "\tq") }
        elsif ($r < 0.92) { push @t, html() }
        elsif ($r < 0.94) { push @t, "\0" }
        elsif ($r < 0.97) { push @t, join '', map { chr(128 + int(rand(128))) } 1 .. 3 }
        else              { push @t, pick('=3D', '=\n', '=ZZ', '=4=', '=\r', '%41', '&#1;', '&#123', '&#0065;') }
    }
    my $l = join(pick(' ', ' ', '', "\t"), @t);
    $l = pick('From ', '>From ', '>>From x', '0', '', '.') . $l if chance(0.05);
    return $l;
}

# dense runs of the bytes the state machines care about
sub soup {
    my @atoms = ('<', '>', '!', '-', '--', '"', "'", '&', '#', ';', '=', '%', '/', '@', ':', '.',
        ' ', "\t", "\n", "\n", "\r", "\0", 'b', 'a', 'lt', 'amp', 'not', 'nbsp', 'AMP', 'yuml',
        'br', 'x', '0', '1', '65', '<b>', '<!--', '-->', 'http://', 'https:/', 'www.', ' www.',
        'href=', 'HREF="', '%3', 'A', 'Content-Type: ', 'Content-', "\x85", "\xa0", "\xff", '&#',
        '&#1', '&#10', '&#105;', 'ex.com', '.co.uk', 'u@h', '?');
    return join '', map { pick(@atoms) } 1 .. int(rand(400));
}

sub eol { return chance(0.85) ? "\n" : pick("\r\n", "\r\r\n", "\r") }

sub text {
    my $n = chance(0.03) ? 3000 : int(rand(30));
    my $s = join '', map { line() . eol() } 1 .. $n;
    $s .= line() if chance(0.2);    # no final newline
    return $s;
}

sub b64 {
    my $raw = text();
    my $e = '';
    my @c = ('A' .. 'Z', 'a' .. 'z', 0 .. 9, '+', '/');
    # plain base64 of the bytes, then damage
    my $bits = unpack('B*', $raw);
    $bits .= '0' x ((6 - length($bits) % 6) % 6);
    $e .= $c[ oct("0b$_") ] for $bits =~ /(.{6})/g;
    $e .= '=' x ((4 - length($e) % 4) % 4);
    $e = substr($e, 0, length($e) - int(rand(3))) if chance(0.2);
    $e =~ s/(.{1,76})/$1\n/g;
    $e =~ s/(.{5})/$1 @@@ /s if chance(0.1);
    $e = substr($e, 0, int(length($e) / 2)) . "=" . substr($e, int(length($e) / 2)) if chance(0.1);
    return $e;
}

sub qp {
    my $t = text();
    $t =~ s/([=\x80-\xff])/sprintf('=%02X', ord $1)/ge if chance(0.7);
    $t =~ s/(.{40})/$1=\n/g if chance(0.5);
    return $t;
}

sub boundary {
    return pick('b1', 'XYZ', '----=_Part_0_123.456', 'a+b(c)?', '=_next', '"', 'x y', 'B')
        . (chance(0.5) ? int(rand(1000)) : '');
}

sub ctype_line {
    my ($b) = @_;
    my $q = chance(0.6) ? "\"$b\"" : $b;
    return pick("Content-Type: multipart/mixed; boundary=$q",
        "Content-Type: multipart/alternative;\n\tboundary=$q",
        "content-type: MULTIPART/related; BOUNDARY=$q",
        "Content-Type:multipart/mixed; boundary=$q",
        "Content-Type: multipart/mixed; boundary=$q; boundary=other",
        "Content-Type: multipart/mixed; boundary=\"$b\"x",
        "Content-Type: multipart/mixed;\n boundary=\n $q");
}

sub leaf_headers {
    my @h;
    my $r = rand();
    push @h, pick('Content-Type: text/plain; charset=us-ascii', 'Content-Type: text/html',
        'Content-type: TEXT/HTML', 'Content-Type: application/octet-stream') if $r < 0.8;
    my $cte = rand();
    my $enc = '';
    if ($cte < 0.2) { push @h, pick('Content-Transfer-Encoding: base64', 'content-transfer-encoding: BASE64'); $enc = 'b' }
    elsif ($cte < 0.35) { push @h, pick('Content-Transfer-Encoding: quoted-printable', 'Content-Transfer-Encoding:  quoted-printable'); $enc = 'q' }
    elsif ($cte < 0.4) { push @h, 'Content-Transfer-Encoding: 8bit' }
    push @h, 'Content-Disposition: inline' if chance(0.2);
    push @h, 'X-Razor2-Test: 1' if chance(0.05);
    push @h, 'Content-ID: <x' . int(rand(99)) . '>' if chance(0.1);
    @h = reverse @h if chance(0.2);
    return (\@h, $enc);
}

sub body_for {
    my ($enc) = @_;
    return soup() if chance(0.15);
    return b64() if $enc eq 'b';
    return qp() if $enc eq 'q';
    return text();
}

sub part {
    my ($depth) = @_;
    if ($depth < 3 && chance(0.2)) {
        my $b = boundary();
        return ctype_line($b) . "\n\n" . multipart_body($b, $depth + 1);
    }
    my ($h, $enc) = leaf_headers();
    my $sep = pick("\n\n", "\n\n", "\n\r\n", "\n");
    return join("\n", @$h) . $sep . body_for($enc) if @$h;
    return pick("\n", '') . body_for($enc);
}

sub multipart_body {
    my ($b, $depth) = @_;
    $b =~ s/^"(.*)"$/$1/;
    my $s = chance(0.7) ? pick("preamble\n", "This is MIME\n\n", '') : '';
    for my $i (1 .. 1 + int(rand(4))) {
        $s .= ($i == 1 && $s eq '' ? '' : "\n") . "--$b" . pick("\n", "\r\n", "  \n", "\n") . part($depth);
    }
    $s .= "\n--$b--" . pick("\n", "\nepilogue --$b\n", '') if chance(0.8);
    return $s;
}

sub message {
    my @h = ('Received: from x by y; ' . pick(@words), 'From: a@b.example', 'To: c@d.example',
        'Subject: ' . line());
    push @h, "X-Long: " . ('h' x 5000) if chance(0.02);
    my $body;
    if (chance(0.45)) {
        my $b = boundary();
        push @h, ctype_line($b);
        push @h, 'MIME-Version: 1.0';
        $body = multipart_body($b, 1);
    } else {
        my ($lh, $enc) = leaf_headers();
        push @h, @$lh;
        $body = body_for($enc);
        $body = ('x' x 70 . "\n") x 1000 . $body if chance(0.02);
    }
    @h = reverse @h if chance(0.1);
    my $m = join("\n", @h) . pick("\n\n", "\n\n", "\n\r\n", "\r\n\r\n") . $body;
    $m = "From sender\@example.com Mon Jan  1 00:00:00 2024\n$m" if chance(0.05);
    $m .= "\nFrom next\@example.com Mon Jan  1 00:00:00 2024\nSubject: 2\n\n" . text() if $m =~ /^From / && chance(0.5);
    return $m;
}

for my $i (1 .. $count) {
    my $f = sprintf('%s/gen_%04d.eml', $dir, $i);
    open(my $fh, '>', $f) or die "$f: $!\n";
    binmode $fh;
    print $fh message();
    close $fh;
}
