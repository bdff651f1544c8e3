<?php
// Imports a service provider's metadata (argv[1]) as SimpleSAMLphp's IdP would:
// validated against the SAML 2.0 metadata schema, then parsed into its
// saml20-sp-remote form, printed as JSON.
require '/usr/share/simplesamlphp/lib/_autoload.php';
$xml = file_get_contents($argv[1]);
if (\SimpleSAML\Utils\XML::isValid($xml, 'saml-schema-metadata-2.0.xsd') !== true) {
    fwrite(STDERR, "not valid SAML 2.0 metadata\n");
    exit(1);
}
$out = [];
foreach (\SimpleSAML\Metadata\SAMLParser::parseDescriptorsString($xml) as $id => $e) {
    $sp = $e->getMetadata20SP();
    unset($sp['entityDescriptor']);
    $out[$id] = $sp;
}
echo json_encode($out), "\n";
